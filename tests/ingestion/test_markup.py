"""Markup out of passages: reStructuredText and Markdown read as the words a reader sees."""

import pytest

from ingestion import extract, filetypes, markup
from ingestion.models import Document
from ingestion.tasks import ingest

RST = """\
PEP: 8
Title: Style Guide

.. _pep8-operator-linebreak:

Maximum Line Length
-------------------

Limit all lines to a *maximum* of 79 characters, as `PEP 257 <https://peps.python.org/pep-0257/>`_ says
and ``textwrap`` helps with.

.. note:: Tabs are :pep:`8` territory.

  Badly indented.

.. include:: /etc/passwd
"""

MARKDOWN = """\
---
title: Ownership in Rust
date: 2024-03-05
layout: chapter
---

# What is *Ownership*?

Ownership is a set of **rules** that govern how a Rust program [manages memory](https://doc.rust-lang.org/).
![The stack and the heap](heap.svg)

## The Stack and the Heap

| Stack | Heap |
|---|---|
| fast | slower |

```rust
let s = String::from("hello");
```
"""


def test_restructuredtext_comes_out_without_underlines_targets_roles_or_complaints():
    text = markup.read_rst(RST).text
    assert "Maximum Line Length\n\nLimit all lines to a maximum of 79 characters, as PEP 257 says" in text
    assert "and textwrap helps with" in " ".join(text.split())
    for junk in ("----", ".. _", "pep8-operator-linebreak", "``", "`_", ":pep:", "ERROR/", "<string>", "root:"):
        assert junk not in text, junk
    assert "Tabs are PEP 8 territory." in text


def test_markdown_comes_out_as_words_with_its_code_and_tables_and_without_front_matter():
    text = markup.read_markdown(MARKDOWN).text
    assert text.startswith("What is Ownership?\n\nOwnership is a set of rules that govern how a Rust program manages")
    assert "The stack and the heap" in text  # the picture's description
    assert "Stack | Heap\n\nfast | slower" in text
    assert 'let s = String::from("hello");' in text
    for junk in ("#", "**", "](", "layout:", "---", "```"):
        assert junk not in text, junk


def test_markdown_front_matter_gives_the_title_and_date(tmp_path):
    path = tmp_path / "ownership.md"
    path.write_text(MARKDOWN)
    metadata = extract.read_metadata(path, filetypes.MARKDOWN)
    assert metadata.title == "Ownership in Rust"
    assert str(metadata.date) == "2024-03-05"


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("---\ntitle: never closed\n\n# Heading\n", "---\ntitle: never closed\n\n# Heading\n"),  # not front matter
        ("", ""),
        ("---\n---\n# Heading\n", "# Heading\n"),  # empty front matter
    ],
)
def test_odd_front_matter_is_read_as_what_it_is(source, body):
    front, rest = markup.split_front_matter(source)
    assert front == markup.FrontMatter()
    assert rest == body
    assert ("Heading" in markup.read_markdown(source).text) == ("Heading" in source)


def test_a_rst_file_is_read_as_restructuredtext_and_its_passages_hold_no_markup(upload, tmp_path):
    path = tmp_path / "pep-0008.rst"
    path.write_text(RST)
    assert filetypes.detect_file_type(path, path.name).file_type == filetypes.RST
    document = upload(path)
    ingest(document.pk)
    document.refresh_from_db()
    assert document.status == Document.Status.READY, document.error
    text = " ".join(document.chunks.values_list("text", flat=True))
    assert "Limit all lines to a maximum of 79 characters" in text
    assert document.chunks.filter(section="Maximum Line Length").exists()
    assert "-----" not in text
    assert ".. _" not in text


def test_an_html_drop_capital_stays_part_of_its_word(tmp_path):
    path = tmp_path / "holmes.html"
    path.write_text(
        '<html><body><p><span class="dropcap" style="font-size: 1.5em">T</span>o Sherlock Holmes she is '
        "always <i>the</i> woman.</p><p>Second paragraph.</p></body></html>"
    )
    text = extract.read_pages(path, filetypes.HTML, 0, 1)[0].text
    assert text == "To Sherlock Holmes she is always the woman.\n\nSecond paragraph."
