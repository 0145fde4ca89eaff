"""Telling the prose lines of a passage from headings, underlines, markup, code and contents lines."""

from qa.text_lines import prose_segments


def prose(text: str) -> list[str]:
    return [text[start:end] for start, end in prose_segments(text)]


def test_a_restructuredtext_heading_and_its_underline_are_not_prose():
    text = "Maximum Line Length\n-------------------\n\nLimit all lines to a maximum of 79 characters.\n"
    assert prose(text) == ["Limit all lines to a maximum of 79 characters."]


def test_markdown_headings_fences_and_rst_targets_are_not_prose():
    text = (
        "## Strings\n\nA string is a collection of bytes.\n```rust\nlet s = String::new();\n```\n"
        ".. _pep8-operator-linebreak:\n\nBreak lines before operators."
    )
    assert prose(text) == ["A string is a collection of bytes.", "Break lines before operators."]


def test_a_literal_block_after_a_double_colon_is_not_prose():
    text = "Write it like this::\n\n    x = 1\n    y = 2\n\nThen run it."
    assert prose(text) == ["Write it like this::", "Then run it."]


def test_wrapped_lines_of_one_paragraph_stay_one_segment_with_their_offsets():
    text = "The code word on page 4\nis dahlia.\n\nChapter 2 ........ 14\nNext paragraph."
    segments = prose_segments(text)
    assert [text[start:end] for start, end in segments] == ["The code word on page 4\nis dahlia.", "Next paragraph."]
