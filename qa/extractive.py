"""The answer without a language model: the one sentence of the passages (or two adjacent ones) that best
answers the question, quoted and cited.

Used when no LLM server is configured, so that the app is useful on any laptop. Nothing is generated: the
answer is copied from one place in one passage and followed by its [n]; the other passages are shown
below it, never joined to it. Only prose is a candidate: headings and their underlines, page furniture
repeated across passages, captions, contents lines, markup and a sentence that only restates the
question are left out.
"""

import functools
import itertools
import re
import threading
from dataclasses import dataclass

import numpy as np
import snowballstemmer

from .citations import STOPWORDS, WORD, Embed, sentence_spans
from .text_lines import prose_segments

PASSAGES_READ = 5
MIN_WORDS = 4
# Weight of the question's distinctive words in a sentence, next to embedding similarity (chosen on SQuAD dev
# with bench/extraction.py: 0.6 to 2.5 are within a point of each other).
WORD_WEIGHT = 1.5
# Bonus for a sentence holding what the question asks for (a number for "how many", a name for "who").
TYPE_WEIGHT = 0.1
# Cost of each rank a passage is below the best: between equals, the better passage wins.
RANK_COST = 0.02
# Repeated in several passages and this short: a running head or footer, not prose.
FURNITURE_MAX_CHARS = 120
MIN_LETTER_SHARE = 0.6
HEAD_QUOTE_CHARS = 300

# Questions that ask for a number or a date: "when", or "how" or "what" before one of these.
NUMBER_ASKS = {
    "how": {"many", "much", "long", "old", "far", "often", "big", "large", "tall", "high", "fast", "deep", "heavy"},
    "what": {"year", "date", "time", "percentage", "number", "age", "century", "decade", "month", "day"},
}
# Words that name a number or a date ("forty-seven" is "forty" and "seven" to words_of).
NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
    eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion half
    quarter dozen january february march april may june july august september october november december century
    decade""".split()  # noqa: SIM905 (a list literal would take 60 lines)
)
PLACE_WORDS = frozenset(["in", "at", "near", "from", "on", "the", "to"])
CAPTION = re.compile(r"^\s*(figure|fig\.|table|listing|chart|image)\s*\d", re.IGNORECASE)
DIGITS = re.compile(r"\d+")
LETTERS_OR_DIGITS = re.compile(r"[^\W_]+")
# Words that point back to the sentence before: an answer starting with one needs it.
ANAPHORS = frozenset(
    ["it", "this", "that", "these", "those", "he", "she", "they", "his", "her", "its", "their", "such", "there", "then"]
)
ORDINALS = {
    "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6", "seventh": "7",
    "eighth": "8", "ninth": "9", "tenth": "10", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip


@dataclass(frozen=True)
class Sentence:
    source: int
    text: str
    score: float


@dataclass(frozen=True)
class Candidate:
    source: int
    rank: int  # the passage's rank, 0 for the best
    index: int  # the sentence's position among its passage's candidates
    text: str


def extract_answer(question: str, passages: list[tuple[int, str]], embed: Embed) -> tuple[str, list[Sentence]]:
    """The answer: one sentence, or two adjacent ones, from one of the first passages, with its [n].

    passages are (source number, text) pairs, best first. Returns the answer text and its sentences
    (none when no prose sentence of the passages is left).
    """
    prose = candidates(passages[:PASSAGES_READ])
    found = [c for c in prose if not restates(question, c.text)]
    if not found:
        return "", []
    vectors = embed([question] + [c.text for c in found])
    scores = (
        vectors[1:] @ vectors[0]
        + WORD_WEIGHT * distinctive_overlap(question, [c.text for c in found])
        + TYPE_WEIGHT * np.array([answers_type(question, c.text) for c in found], dtype=np.float32)
        - RANK_COST * np.array([c.rank for c in found], dtype=np.float32)
    )
    best = int(np.argmax(scores))
    chosen = [found[best]]
    before = neighbour(prose, chosen[0], -1)
    after = neighbour(prose, chosen[0], +1)
    if before is not None and starts_with_anaphor(chosen[0].text):
        chosen.insert(0, before)
    elif after is not None and not answers_type(question, chosen[0].text) and answers_type(question, after.text):
        chosen.append(after)  # the answer runs on into the next sentence
    sentences = [Sentence(source=c.source, text=c.text, score=float(scores[best])) for c in chosen]
    return " ".join(c.text for c in chosen) + f" [{chosen[0].source}]", sentences


def quote_head(source: int, text: str) -> str:
    """The first lines of a document's head passage, with its [n]: the answer to "who wrote it?" is its title
    and byline, which are lines, not sentences (and so never candidates above)."""
    quote = ""
    for line in (" ".join(line.split()) for line in text.splitlines()):
        if quote and len(quote) + len(line) >= HEAD_QUOTE_CHARS:
            break
        quote = f"{quote} {line}".strip()
    return f"{quote[:HEAD_QUOTE_CHARS]} [{source}]" if quote else ""


def neighbour(found: list[Candidate], candidate: Candidate, step: int) -> Candidate | None:
    """The prose sentence next to the candidate in its passage (step -1: before it, +1: after it)."""
    return next((c for c in found if c.source == candidate.source and c.index == candidate.index + step), None)


def candidates(passages: list[tuple[int, str]]) -> list[Candidate]:
    """The prose sentences of the passages, whitespace collapsed, less the page furniture among them."""
    found = []
    for rank, (source, text) in enumerate(passages):
        index = 0
        for segment_start, segment_end in prose_segments(text):
            segment = text[segment_start:segment_end]
            for start, end in sentence_spans(segment):
                sentence = " ".join(segment[start:end].split())
                if is_prose(sentence):
                    found.append(Candidate(source=source, rank=rank, index=index, text=sentence))
                    index += 1
    furniture = repeated_short_sentences(found)
    return [c for c in found if furniture_key(c.text) not in furniture]


def is_prose(sentence: str) -> bool:
    words = sentence.split()
    if len(words) < MIN_WORDS or sentence.endswith(":") or CAPTION.match(sentence):
        return False
    if not any(word[:1].islower() for word in words):
        return False  # a heading in capitals or title case
    letters = sum(ch.isalpha() for ch in sentence)
    return letters >= MIN_LETTER_SHARE * sum(not ch.isspace() for ch in sentence)


def furniture_key(sentence: str) -> str:
    return DIGITS.sub("#", sentence.lower())


def repeated_short_sentences(found: list[Candidate]) -> set[str]:
    """Short sentences that recur in more than one passage, page numbers aside: running heads and footers."""
    sources: dict[str, set[int]] = {}
    for candidate in found:
        if len(candidate.text) <= FURNITURE_MAX_CHARS:
            sources.setdefault(furniture_key(candidate.text), set()).add(candidate.source)
    return {key for key, where in sources.items() if len(where) > 1}


def words_of(text: str) -> set[str]:
    """Content words, lower case and stemmed ("played" is "play"), with number words and ordinals as digits
    ("fourth page" is "4 page"); underscores (Markdown's _emphasis_) are not part of words."""
    return {
        stem(ORDINALS.get(word, word))
        for word in (m.lower() for m in LETTERS_OR_DIGITS.findall(text))
        if word not in STOPWORDS
    }


STEMMER = snowballstemmer.stemmer("english")


STEMMER_LOCK = threading.Lock()  # a Snowball stemmer keeps state between calls: one thread at a time


@functools.lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    with STEMMER_LOCK:
        return STEMMER.stemWord(word)


NUMBER_STEMS = frozenset(map(stem, NUMBER_WORDS))


def restates(question: str, sentence: str) -> bool:
    """Whether the sentence says nothing the question does not: every content word of it is in the question."""
    return words_of(sentence) <= words_of(question)


def answers_type(question: str, sentence: str) -> float:
    """1 when the sentence holds, outside the question's own words, the kind of thing the question asks for:
    a number or date for how many, how much and when; a place for where; a name for who."""
    asked = words_of(question)
    tokens = sentence.split()
    novel = [(i, token) for i, token in enumerate(tokens) if words_of(token) - asked]
    question_words = [m.lower() for m in LETTERS_OR_DIGITS.findall(question)]
    if "when" in question_words or any(
        following in NUMBER_ASKS.get(word, ()) for word, following in itertools.pairwise(question_words)
    ):
        return float(any(is_number(token) for _, token in novel))
    names = [(i, token) for i, token in novel if i > 0 and token[:1].isupper()]
    if "where" in question_words:
        return float(any(tokens[i - 1].lower() in PLACE_WORDS for i, _ in names))
    if {"who", "whom", "whose"} & set(question_words):
        return float(bool(names))
    return 0.0


def is_number(token: str) -> bool:
    return any(ch.isdigit() for ch in token) or bool(words_of(token) & NUMBER_STEMS)


def starts_with_anaphor(sentence: str) -> bool:
    first = WORD.search(sentence)
    return bool(first) and first.group(0).lower() in ANAPHORS


def distinctive_overlap(question: str, sentences: list[str]) -> np.ndarray:
    """The share of the question's words each sentence has, each word weighted by its rarity among them.

    In "Where was Super Bowl 50 played?" over passages about Super Bowl 50, "played" is what
    tells the sentences apart; the small embedding model mostly hears "Super Bowl 50".
    """
    words = words_of(question)
    sentence_words = [words_of(s) for s in sentences]
    weights = {w: np.log((1 + len(sentences)) / (1 + sum(w in sw for sw in sentence_words))) for w in words}
    total = sum(weights.values())
    if not total:
        return np.zeros(len(sentences), dtype=np.float32)
    return np.array([sum(weights[w] for w in words & sw) / total for sw in sentence_words], dtype=np.float32)
