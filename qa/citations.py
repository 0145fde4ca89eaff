"""Finding the citations in an answer and checking that the cited passages support them.

A model cites in many forms: [1], [1, 3], (source: 2), "Source: 1, 3" on its own line, or by
echoing a block's metadata ("url: http://..."). Each reference is mapped to a block that was
in the prompt; anything else is dropped and counted. The claim a reference supports is the
sentence around it, or, for a reference on a line of its own, the sentences before it.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sentencex import segment

NUMBERS = r"#?\d+(?:\s*(?:,|;|&|and|-|–)\s*#?\d+)*"
BRACKETED = re.compile(rf"\[\s*(?:sources?\s*:?\s*)?({NUMBERS})\s*\]", re.IGNORECASE)
# In parentheses only with the word: "(1999)" is a year, "(source: 2)" a citation.
PARENTHESIZED = re.compile(rf"\(\s*sources?\s*:?\s*({NUMBERS})\s*\)", re.IGNORECASE)
BARE = re.compile(rf"\bsources?\s*:?\s*({NUMBERS})\b", re.IGNORECASE)
ECHOED_URL = re.compile(r"\burl:\s*(\S+)", re.IGNORECASE)
ECHOED_TITLE = re.compile(r"\btitle:\s*([^\n]+?)(?=\s+(?:date|url|source):|\n|$)", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,;:)]}>'\""
WORD = re.compile(r"\w+")
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "may",
        "might",
        "more",
        "most",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "also",
        "about",
        "after",
        "before",
        "between",
        "both",
        "during",
        "each",
        "other",
        "over",
        "under",
        "up",
        "very",
    ]
)


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


def expand_numbers(group: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*(?:,|;|&|and)\s*", group):
        bounds = [int(n) for n in re.findall(r"\d+", part)]
        if len(bounds) == 2 and bounds[0] < bounds[1] <= bounds[0] + 20:  # "1-3"
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return numbers


def find_references(answer: str, urls: dict[str, int], titles: dict[str, int]) -> tuple[list[Reference], list[str]]:
    """Every reference in the answer, and the ones that name no block (as written).

    urls and titles map each block's url and title to its source number; a number is
    checked against the blocks by the caller.
    """
    references: list[Reference] = []
    unknown: list[str] = []
    taken: list[tuple[int, int]] = []

    def is_free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for pattern in (BRACKETED, PARENTHESIZED, BARE):
        for match in pattern.finditer(answer):
            if is_free(*match.span()):
                taken.append(match.span())
                for number in expand_numbers(match.group(1)):
                    references.append(Reference(number, match.start(), match.end(), "number"))
    for pattern, table in ((ECHOED_URL, urls), (ECHOED_TITLE, titles)):
        for match in pattern.finditer(answer):
            value = match.group(1).strip().rstrip(TRAILING_PUNCTUATION)
            source = table.get(value) or table.get(value.lower())
            if source is None:
                unknown.append(match.group(0))
            elif is_free(*match.span()):
                references.append(Reference(source, match.start(), match.end(), "metadata"))
            taken.append(match.span())
    references.sort(key=lambda r: (r.start, r.source))
    return references, unknown


def claims_for(answer: str, references: list[Reference]) -> list[Claim]:
    """The claim each reference stands behind."""
    spans = sentence_spans(answer)
    in_sentence: dict[int, list[Reference]] = {}
    for reference in references:
        in_sentence.setdefault(sentence_of(spans, reference.start), []).append(reference)
    # Most models cite after the sentence ("Revenue rose. [1]"); some before ("[1] Revenue rose.").
    # The segmenter keeps a marker with the sentence before it, so in the second style a marker
    # that ends a sentence leads the next one.
    leads = bool(spans) and any(not answer[spans[0][0] : r.start].strip() for r in in_sentence.get(0, []))
    by_sentence: dict[int, list[Reference]] = {}
    for index, refs in in_sentence.items():
        start, end = spans[index]
        for reference in refs:
            opens = not answer[start : reference.start].strip()
            closes = not re.sub(r"[\s\[\]\d,;()]", "", answer[reference.end : end])
            if leads and closes and not opens and index + 1 < len(spans):
                target = index + 1
            elif not leads and opens and index > 0 and has_words(strip_markers(answer, start, end, refs)):
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
            earlier = [i for i in range(last_cited + 1, index)]
            if earlier:
                start = spans[earlier[0]][0]
                text = " ".join(strip_markers(answer, *spans[i], in_sentence.get(i, [])) for i in earlier)
        for reference in by_sentence[index]:
            claims.append(Claim(reference.source, " ".join(text.split()), start, end, reference.form))
        last_cited = index
    return claims


def sentence_of(spans: list[tuple[int, int]], position: int) -> int:
    for index, (_, end) in enumerate(spans):
        if position < end:
            return index
    return len(spans) - 1


def strip_markers(answer: str, start: int, end: int, references: list[Reference]) -> str:
    text = answer[start:end]
    for reference in sorted({(r.start, r.end) for r in references}, reverse=True):
        s, e = max(reference[0], start) - start, min(reference[1], end) - start
        if s < e:
            text = text[:s] + " " + text[e:]
    # "California [1]." leaves "California ." behind.
    return SPACE_BEFORE_PUNCTUATION.sub(r"\1", text).strip()


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
