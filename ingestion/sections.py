"""A text's sections: the stretches between its headings, each with its heading path ("Usage › Streaming").

Headings are not passages of their own: a passage is cut from one section's body and carries the path, which
the card shows and the embedder and keyword index read with it. Extraction gives the headings as (level,
title) in reading order (markup.py, extract.py); here they are found again as lines of the extracted text.
"""

import bisect
from collections import defaultdict
from dataclasses import dataclass

from .extract import shorten

SEPARATOR = " › "
# A "heading" longer than this is a misused heading element (a whole paragraph in <h3>): it stays text.
HEADING_MAX_CHARS = 200
# What one level of a path keeps, and the path as a whole: it goes in front of the passage's own tokens.
PART_MAX_CHARS = 80
PATH_MAX_CHARS = 240

Heading = tuple[int, str]  # (level: 1 is the outermost, title)


@dataclass(frozen=True)
class Section:
    start: int  # the body's character offsets in the text, its heading line excluded
    end: int
    path: str  # the titles of its heading and of those it lies under, outermost first; "" before any heading


def split(text: str, headings: list[Heading] | tuple[Heading, ...]) -> list[Section]:
    """text cut at its heading lines into sections, in order, covering all of it but the heading lines."""
    found = locate(text, headings)
    sections, stack, position = [], [], 0
    for start, end, level, title in found:
        sections.append(Section(position, start, label(stack)))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        position = end
    sections.append(Section(position, len(text), label(stack)))
    return [s for s in sections if text[s.start : s.end].strip()]


def locate(text: str, headings: list[Heading] | tuple[Heading, ...]) -> list[tuple[int, int, int, str]]:
    """(line start, line end, level, title) of each heading found as a whole line of text, in order; a heading
    whose line cannot be found after the one before it is left out."""
    lines: dict[str, list[int]] = defaultdict(list)  # a line's words -> its numbers, ascending
    spans = []
    offset = 0
    for number, line in enumerate(text.split("\n")):
        spans.append((offset, offset + len(line)))
        offset += len(line) + 1
        if line.strip():
            lines[words(line)].append(number)
    found, after = [], 0
    for level, title in headings:
        key = words(title)
        if not key or len(key) > HEADING_MAX_CHARS:
            continue
        numbers = lines.get(key, [])
        i = bisect.bisect_left(numbers, after)
        if i < len(numbers):
            start, end = spans[numbers[i]]
            found.append((start, end, level, key))
            after = numbers[i] + 1
    return found


def words(text: str) -> str:
    return " ".join(text.split())


def label(stack: list[tuple[int, str]]) -> str:
    parts = [shorten(title, PART_MAX_CHARS) for _, title in stack]
    path = SEPARATOR.join(parts)
    # The innermost headings say most about the passage: a path too long loses its outer levels.
    while len(path) > PATH_MAX_CHARS and len(parts) > 1:
        parts = parts[1:]
        path = SEPARATOR.join(["…", *parts])
    return shorten(path, PATH_MAX_CHARS)
