"""Finding the citations in an answer and checking that the cited passages support them.

A model cites in many forms: [1], [1, 3], (source: 2), "Source: 1, 3" on its own line, or by
echoing a block's metadata ("url: http://..."). Each reference is mapped to a block that was
in the prompt; anything else is dropped and counted. The claim a reference supports is the
sentence around it, or, for a reference on a line of its own, the sentences before it.
"""

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from sentencex import segment

NUMBERS = r"#?\d+(?:\s*(?:,|;|&|and|-|–)\s*#?\d+)*"
# "source: 1", "source 1", "source:1". Never "\s*:?\s*": two runs of spaces that can trade characters
# make a search quadratic in a run of spaces.
LABEL = r"sources?\s*(?::\s*)?"
BRACKETED = re.compile(rf"\[\s*(?:{LABEL})?({NUMBERS})\s*\]", re.IGNORECASE)
# In parentheses only with the word: "(1999)" is a year, "(source: 2)" a citation.
PARENTHESIZED = re.compile(rf"\(\s*{LABEL}({NUMBERS})\s*\)", re.IGNORECASE)
BARE = re.compile(rf"\b{LABEL}({NUMBERS})\b", re.IGNORECASE)
ECHOED_URL = re.compile(r"\burl:\s*(\S+)", re.IGNORECASE)
# An echoed title runs to the end of its line or to the next echoed label (see echoed_titles).
TITLE_LABEL = re.compile(r"\btitle:", re.IGNORECASE)
NEXT_LABEL = re.compile(r"\s(?:date|url|source):", re.IGNORECASE)
WHITESPACE = re.compile(r"\s*")
# The segmenter is quadratic in runs of quotation marks (20,000 backticks: 0.2 s), so longer text is
# segmented a stretch at a time; no real sentence is this long.
SEGMENT_WINDOW = 5000
# Between the numbers of one reference, once its spaces are single.
SEPARATOR = re.compile(r" ?(?:,|;|&|and) ?")
DIGITS = re.compile(r"\d+")
NOT_A_MARKER = re.compile(r"[^\s\[\]\d,;()]")
TRAILING_PUNCTUATION = ".,;:)]}>'\""
WORD = re.compile(r"\w+")
# From the start of a run of spaces only: tried inside the run, the search is quadratic in its length.
SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<!\s)\s+([.,;:!?])")
STOPWORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does", "for",
    "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "may",
    "might", "more", "most", "no", "not", "of", "on", "or", "our", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "we", "were",
    "what", "when", "where", "which", "who", "whom", "why", "will", "with", "would", "you", "your", "also",
    "about", "after", "before", "between", "both", "during", "each", "other", "over", "under", "up", "very",
])  # fmt: skip


@dataclass(frozen=True)
class Reference:
    source: int  # the cited block's number
    start: int  # the marker's span in the answer
    end: int
    form: str  # "number" or "metadata"


@dataclass(frozen=True)
class Claim:
    source: int
    text: str  # the sentence(s) that cite the source, without their markers
    start: int  # span of those sentences in the answer
    end: int
    form: str


@dataclass(frozen=True)
class Support:
    score: float  # 0-1: how well the passage supports the claim
    start: int  # the passage sentence that supports it best
    end: int


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of text, whitespace trimmed."""
    spans = []
    for window_start, window_end in windows(text, SEGMENT_WINDOW):
        spans += [(window_start + s, window_start + e) for s, e in segment_window(text[window_start:window_end])]
    return spans


def segment_window(text: str) -> list[tuple[int, int]]:
    spans = []
    position = 0
    for sentence in segment("en", text):
        start = text.find(sentence, position)
        if start < 0:  # the segmenter changed the text; fall back to one span
            return [(0, len(text))] if text.strip() else []
        end = start + len(sentence)
        position = end
        stripped_start = start + len(sentence) - len(sentence.lstrip())
        stripped_end = start + len(sentence.rstrip())
        if stripped_end > stripped_start:
            spans.append((stripped_start, stripped_end))
    return spans


def windows(text: str, size: int) -> list[tuple[int, int]]:
    """(start, end) stretches of text of at most size characters, each cut after its last line break, else
    after its last space, else where it must be."""
    pieces, start = [], 0
    while len(text) - start > size:
        limit = start + size
        cut = text.rfind("\n", start, limit) + 1 or text.rfind(" ", start, limit) + 1 or limit
        pieces.append((start, cut))
        start = cut
    pieces.append((start, len(text)))
    return pieces


def expand_numbers(group: str) -> list[int]:
    numbers: list[int] = []
    # One space at most between parts, so that splitting around a separator stays linear.
    for part in SEPARATOR.split(" ".join(group.split())):
        # No source has a seven-digit number, and int() refuses a string of more than 4,300 digits.
        bounds = [int(n) for n in DIGITS.findall(part) if len(n) <= 6]
        if len(bounds) == 2 and bounds[0] < bounds[1] <= bounds[0] + 20:  # "1-3"
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return numbers


class TakenSpans:
    """Spans of the answer already read as references; none of them overlap."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []  # sorted by start

    def is_free(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self.spans, (start, start))
        before_ends = index == 0 or self.spans[index - 1][1] <= start
        after_starts = index == len(self.spans) or self.spans[index][0] >= end
        return before_ends and after_starts

    def add(self, spans: list[tuple[int, int]]) -> None:
        # All of one pattern's matches at once: inserting them one by one is quadratic.
        self.spans = sorted(self.spans + spans)


def echoed_titles(answer: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, title) of each "title: ..." the model echoed from a block's metadata.

    The title runs to the end of its line, or to the next "date:", "url:" or "source:" on it."""
    position = 0
    while label := TITLE_LABEL.search(answer, position):
        value_start = WHITESPACE.match(answer, label.end()).end()
        if value_start >= len(answer):
            return
        line_end = answer.find("\n", value_start)
        line_end = len(answer) if line_end < 0 else line_end
        cut = NEXT_LABEL.search(answer, value_start, line_end)
        value = answer[value_start : cut.start() if cut else line_end].rstrip()
        end = value_start + max(len(value), 1)
        yield label.start(), end, answer[value_start:end]
        position = end


def find_references(answer: str, urls: dict[str, int], titles: dict[str, int]) -> tuple[list[Reference], list[str]]:
    """Every reference in the answer, and the ones that name no block (as written).

    urls and titles map each block's url and title to its source number; a number is
    checked against the blocks by the caller.
    """
    references: list[Reference] = []
    unknown: list[str] = []
    taken = TakenSpans()
    # One pattern's matches never overlap each other, so each is checked against the earlier patterns' only.
    for pattern in (BRACKETED, PARENTHESIZED, BARE):
        found = [match for match in pattern.finditer(answer) if taken.is_free(*match.span())]
        for match in found:
            for number in expand_numbers(match.group(1)):
                references.append(Reference(number, match.start(), match.end(), "number"))
        taken.add([match.span() for match in found])
    urls_found = [(m.start(), m.end(), m.group(1)) for m in ECHOED_URL.finditer(answer)]
    for echoed, table in ((urls_found, urls), (list(echoed_titles(answer)), titles)):
        for start, end, written in echoed:
            value = written.strip().rstrip(TRAILING_PUNCTUATION)
            source = table.get(value) or table.get(value.lower())
            if source is None:
                unknown.append(answer[start:end])
            elif taken.is_free(start, end):
                references.append(Reference(source, start, end, "metadata"))
        taken.add([(start, end) for start, end, _ in echoed])
    references.sort(key=lambda r: (r.start, r.source))
    return references, unknown


def claims_for(answer: str, references: list[Reference]) -> list[Claim]:
    """The claim each reference stands behind."""
    spans = sentence_spans(answer)
    ends = [end for _, end in spans]
    in_sentence: dict[int, list[Reference]] = {}
    for reference in references:
        in_sentence.setdefault(sentence_of(ends, reference.start), []).append(reference)
    # Most models cite after the sentence ("Revenue rose. [1]"); some before ("[1] Revenue rose.").
    # The segmenter keeps a marker with the sentence before it, so in the second style a marker
    # that ends a sentence leads the next one.
    leads = bool(spans) and any(r.start <= first_visible(answer, *spans[0]) for r in in_sentence.get(0, []))
    by_sentence: dict[int, list[Reference]] = {}
    for index, refs in in_sentence.items():
        start, end = spans[index]
        # Worked out once per sentence: per reference, a sentence full of markers would be quadratic.
        visible_start = first_visible(answer, start, end)
        last_word = last_unmarked(answer, start, end)
        says_something = has_words(strip_markers(answer, start, end, refs))
        for reference in refs:
            opens = reference.start <= visible_start
            closes = reference.end > last_word
            if leads and closes and not opens and index + 1 < len(spans):
                target = index + 1
            elif not leads and opens and index > 0 and says_something:
                # "Revenue rose. [1] Costs fell.": the marker belongs to the sentence before.
                target = index - 1
            else:
                target = index
            by_sentence.setdefault(target, []).append(reference)
    claims: list[Claim] = []
    last_cited = -1
    for index in sorted(by_sentence):
        start, end = spans[index]
        text = strip_markers(answer, start, end, in_sentence.get(index, []))
        if not has_words(text):
            # A line such as "Source: 1, 3" stands behind the sentences since the last citation.
            earlier = range(last_cited + 1, index)
            if earlier:
                start = spans[earlier[0]][0]
                text = " ".join(strip_markers(answer, *spans[i], in_sentence.get(i, [])) for i in earlier)
        claim = " ".join(text.split())
        for reference in by_sentence[index]:
            claims.append(Claim(reference.source, claim, start, end, reference.form))
        last_cited = index
    return claims


def sentence_of(ends: list[int], position: int) -> int:
    """The index of the sentence (given by its end offsets) that holds position, else the last one."""
    return min(bisect.bisect_right(ends, position), len(ends) - 1)


def first_visible(answer: str, start: int, end: int) -> int:
    """Where answer[start:end] has its first character that is not whitespace (end if none)."""
    text = answer[start:end]
    return start + len(text) - len(text.lstrip())


def last_unmarked(answer: str, start: int, end: int) -> int:
    """The offset of the last character in answer[start:end] that cannot be part of a marker, or -1."""
    match = NOT_A_MARKER.search(answer[start:end][::-1])
    return end - 1 - match.start() if match else -1


def strip_markers(answer: str, start: int, end: int, references: list[Reference]) -> str:
    pieces, position = [], start
    for marker_start, marker_end in sorted({(r.start, r.end) for r in references}):
        marker_start, marker_end = max(marker_start, position), min(marker_end, end)
        if marker_start < marker_end:
            pieces += [answer[position:marker_start], " "]
            position = marker_end
    pieces.append(answer[position:end])
    # "California [1]." leaves "California ." behind.
    return SPACE_BEFORE_PUNCTUATION.sub(r"\1", "".join(pieces)).strip()


# What is left of a line like "Source: date: 2024-03-01 url: ..." once its reference is taken out.
METADATA_REMAINS = re.compile(r"\b(?:sources?|date|url|title)\s*:\s*[\d-]*", re.IGNORECASE)


def has_words(text: str) -> bool:
    """Whether text says something beyond stopwords and metadata labels."""
    return any(w.lower() not in STOPWORDS for w in WORD.findall(METADATA_REMAINS.sub(" ", text)))


def content_words(text: str) -> set[str]:
    return {w for w in (m.lower() for m in WORD.findall(text)) if w not in STOPWORDS}


def lexical_support(claim: str, passage: str) -> float:
    """The share of the claim's content words that the passage contains."""
    words = content_words(claim)
    return len(words & content_words(passage)) / len(words) if words else 0.0


Embed = Callable[[list[str]], np.ndarray]


def support(claims: list[str], passage: str, embed: Embed) -> list[Support]:
    """How well one passage supports each claim: the best of word overlap and sentence similarity."""
    spans = sentence_spans(passage) or [(0, len(passage))]
    sentences = [passage[s:e] for s, e in spans]
    vectors = embed(claims + sentences)
    claim_vectors, sentence_vectors = vectors[: len(claims)], vectors[len(claims) :]
    results = []
    for claim, claim_vector in zip(claims, claim_vectors, strict=True):
        similarity = sentence_vectors @ claim_vector
        best = int(np.argmax(similarity))
        overlaps = [lexical_support(claim, sentence) for sentence in sentences]
        best_overlap = int(np.argmax(overlaps))
        score = max(float(similarity[best]), lexical_support(claim, passage))
        # Highlight the sentence that explains the score.
        chosen = best if similarity[best] >= overlaps[best_overlap] else best_overlap
        results.append(Support(score=min(max(score, 0.0), 1.0), start=spans[chosen][0], end=spans[chosen][1]))
    return results
