"""Which lines of a passage are prose: headings (with their underlines), Markdown and reStructuredText markup
lines, code blocks and contents lines are not. Plain Python, one pass over the lines."""

import re

# A line of one repeated punctuation character: a reStructuredText or setext heading's underline, a rule.
UNDERLINE = re.compile(r"[-=~^*#+`'\".:_]{3,}")
MARKDOWN_HEADING = re.compile(r" {0,3}#{1,6}(?: |$)")
FENCE = re.compile(r" {0,3}(```|~~~)")


def prose_segments(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the runs of prose lines in text; blank lines and other lines end a run."""
    lines = text.split("\n")
    spans, starts, position = [], [], 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1
    keep = prose_lines(lines)
    run_start = None
    for number, line in enumerate(lines):
        if keep[number]:
            if run_start is None:
                run_start = starts[number]
            run_end = starts[number] + len(line)
        elif run_start is not None:
            spans.append((run_start, run_end))
            run_start = None
    if run_start is not None:
        spans.append((run_start, run_end))
    return spans


def prose_lines(lines: list[str]) -> list[bool]:
    """For each line, whether it is prose."""
    keep = [False] * len(lines)
    in_fence = False
    literal_indent = None  # inside a reStructuredText literal block ("::" then indented lines)
    for number, line in enumerate(lines):
        stripped = line.strip()
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if indent > literal_indent:
                continue
            literal_indent = None
        if stripped.endswith("::"):
            literal_indent = indent
        if is_markup(line, stripped):
            continue
        following = lines[number + 1].strip() if number + 1 < len(lines) else ""
        if UNDERLINE.fullmatch(following) and len(following) >= len(stripped) * 0.5:
            continue  # a heading over its underline
        keep[number] = True
    return keep


def is_markup(line: str, stripped: str) -> bool:
    return bool(
        UNDERLINE.fullmatch(stripped)
        or MARKDOWN_HEADING.match(line)
        # ".. _target:", ".. code-block:: python", ".. note::", a comment.
        or stripped.startswith(".. ")
        or is_contents_line(stripped)
    )


def is_contents_line(stripped: str) -> bool:
    """ "Chapter 1 ........ 12": dot leaders before a page number."""
    before_number = stripped.rstrip("0123456789")
    if before_number == stripped:
        return False
    return before_number.rstrip()[-12:].replace(" ", "").endswith("....")
