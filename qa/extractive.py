"""The answer without a language model: the passage sentences closest to the question, each cited.

Used when no LLM server is configured, so that the app is useful on any laptop. Nothing is
generated: every sentence is copied from a passage and followed by its [n].
"""

from dataclasses import dataclass

import numpy as np

from .citations import Embed, content_words, sentence_spans

MAX_SENTENCES = 3
PASSAGES_READ = 5
MIN_SENTENCE_CHARS = 20
# A sentence this much less similar to the question than the best one is left out.
MAX_GAP_TO_BEST = 0.15
# Weight of the question's distinctive words in a sentence, next to embedding similarity.
WORD_WEIGHT = 0.6


@dataclass(frozen=True)
class Sentence:
    source: int
    text: str
    score: float


def extract_answer(question: str, passages: list[tuple[int, str]], embed: Embed) -> tuple[str, list[Sentence]]:
    """The best sentences of the first passages, best first, as an answer text with [n] markers.

    passages are (source number, text) pairs, best first.
    """
    candidates: list[tuple[int, str]] = []
    for source, text in passages[:PASSAGES_READ]:
        for start, end in sentence_spans(text):
            sentence = " ".join(text[start:end].split())
            if len(sentence) >= MIN_SENTENCE_CHARS:
                candidates.append((source, sentence))
    if not candidates:
        return "", []
    vectors = embed([question] + [sentence for _, sentence in candidates])
    scores = vectors[1:] @ vectors[0] + WORD_WEIGHT * distinctive_overlap(question, [s for _, s in candidates])
    chosen = []
    seen = set()
    best = float(scores.max())
    for i in np.argsort(-scores):
        source, sentence = candidates[int(i)]
        if scores[int(i)] < best - MAX_GAP_TO_BEST:
            break
        if sentence in seen:  # overlapping chunks repeat sentences
            continue
        seen.add(sentence)
        chosen.append(Sentence(source=source, text=sentence, score=float(scores[int(i)])))
        if len(chosen) == MAX_SENTENCES:
            break
    return " ".join(f"{s.text} [{s.source}]" for s in chosen), chosen


def distinctive_overlap(question: str, sentences: list[str]) -> np.ndarray:
    """The share of the question's words each sentence has, each word weighted by its rarity among them.

    In "Where was Super Bowl 50 played?" over passages about Super Bowl 50, "played" is what
    tells the sentences apart; the small embedding model mostly hears "Super Bowl 50".
    """
    words = content_words(question)
    sentence_words = [content_words(s) for s in sentences]
    weights = {w: np.log((1 + len(sentences)) / (1 + sum(w in sw for sw in sentence_words))) for w in words}
    total = sum(weights.values())
    if not total:
        return np.zeros(len(sentences), dtype=np.float32)
    return np.array([sum(weights[w] for w in words & sw) / total for sw in sentence_words], dtype=np.float32)
