"""Page furniture out of a PDF's text: running heads and footers (lines that recur at the top or bottom of
many pages, page numbers among them) are dropped, and words broken across lines by a hyphen ("dan-" /
"gerous") are joined.

The cleaned text keeps a map back to the page's extracted text, so a passage cut from it still knows which
characters of the page it came from (an OCR'd page marks its passages by those).
"""

import bisect
from dataclasses import dataclass
from difflib import SequenceMatcher

EDGE_LINES = 2  # lines at the top and at the bottom of a page where running heads and footers are
# A line at a page's edge is furniture when it recurs, digits aside, on at least this share of the pages,
# and on three pages at least.
RECURRING_SHARE = 0.5
RECURRING_PAGES = 3
LONGEST_FURNITURE = 120  # characters: a longer line is text, however often it recurs
# A line whose key is this close to a recurring one's (difflib's ratio), both this long, is the same line.
CLOSE_KEY_RATIO = 0.85
CLOSE_KEY_CHARS = 10


@dataclass(frozen=True)
class Cleaned:
    text: str
    # Where each kept stretch starts in the cleaned text, and where it came from in the page's text.
    starts: tuple[int, ...]
    origins: tuple[int, ...]

    def original(self, offset: int) -> int:
        """The page-text offset of a cleaned-text offset."""
        if not self.starts:
            return offset
        index = max(0, bisect.bisect_right(self.starts, offset) - 1)
        return self.origins[index] + offset - self.starts[index]


def as_is(text: str) -> Cleaned:
    """Text that needs no cleaning, in the same shape."""
    return Cleaned(text=text, starts=(0,), origins=(0,))


def line_key(line: str) -> str:
    """A line as running heads repeat it: its letters, case, spacing, punctuation and the page number aside
    ("50 THE SIEGE OF VICKSBURG." and "THE SIEGE OF VICKSBURG. 49" are one); a number alone is "#"."""
    chars: list[str] = []
    for ch in line.casefold():
        if ch.isdigit():
            if not chars or chars[-1] != "#":
                chars.append("#")
        elif ch.isalnum():
            chars.append(ch)
    key = "".join(chars).strip("#")
    return key or ("#" if "#" in chars else "")


def is_furniture(key: str, recurring: frozenset[str]) -> bool:
    """The key is one of the recurring lines, or nearly (an OCR layer misreads a running head now and then:
    "VICKSBUEG", "SIEGE OP")."""
    if key in recurring:
        return True
    return len(key) >= CLOSE_KEY_CHARS and any(
        len(other) >= CLOSE_KEY_CHARS and SequenceMatcher(None, key, other).ratio() >= CLOSE_KEY_RATIO
        for other in recurring
    )


def edge_lines(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[:EDGE_LINES] + lines[-EDGE_LINES:]


def furniture(pages: list[str]) -> frozenset[str]:
    """The keys of the lines that recur at the edges of the pages: running heads, footers, page numbers.
    Only pages with lines between their edges count: on a page of a line or two, every line is an edge."""
    with_text = [text for text in pages if sum(1 for line in text.splitlines() if line.strip()) > 2 * EDGE_LINES]
    counts: dict[str, int] = {}
    for text in with_text:
        for key in {line_key(line) for line in edge_lines(text) if len(line.strip()) <= LONGEST_FURNITURE}:
            counts[key] = counts.get(key, 0) + 1
    least = max(RECURRING_PAGES, RECURRING_SHARE * len(with_text))
    return frozenset(key for key, count in counts.items() if count >= least and key)


def clean(text: str, recurring: frozenset[str] = frozenset()) -> Cleaned:
    """The page's text without its furniture (at its edges only) and with hyphen-broken words joined."""
    lines = text.splitlines(keepends=True)
    non_blank = [index for index, line in enumerate(lines) if line.strip()]
    at_edge = set(non_blank[:EDGE_LINES] + non_blank[-EDGE_LINES:])
    dropped = {index for index in at_edge if is_furniture(line_key(lines[index]), recurring)}
    if len(dropped) == len(non_blank):
        dropped = set()  # a page that holds nothing else keeps its lines
    pieces: list[tuple[int, str]] = []  # (origin, text) of each kept stretch
    origin = 0
    for index, line in enumerate(lines):
        if index not in dropped:
            pieces.append((origin, line))
        origin += len(line)
    starts, origins, parts = [], [], []
    length = 0
    for position, (origin, line) in enumerate(pieces):
        following = pieces[position + 1][1] if position + 1 < len(pieces) else ""
        if is_broken_word(line, following):
            line = line.rstrip()[:-1]  # the hyphen and the line break go; the word's halves meet
        starts.append(length)
        origins.append(origin)
        parts.append(line)
        length += len(line)
    return Cleaned(text="".join(parts), starts=tuple(starts), origins=tuple(origins))


def is_broken_word(line: str, following: str) -> bool:
    """ "dan-" then "gerous": a letter and a hyphen end the line, and a small letter starts the next."""
    stripped = line.rstrip()
    return (
        len(stripped) >= 2
        and stripped.endswith("-")
        and stripped[-2].isalpha()
        and line.endswith("\n")
        and following[:1].islower()
    )
