"""The answer without a language model: the passage sentences closest to the question, each cited.

Used when no LLM server is configured, so that the app is useful on any laptop. Nothing is
generated: every sentence is copied from a passage and followed by its [n].
"""

from dataclasses import dataclass

import numpy as np

from .citations import Embed, sentence_spans

MAX_SENTENCES = 3
PASSAGES_READ = 5
MIN_SENTENCE_CHARS = 20
# A sentence this much less similar to the question than the best one is left out.
MAX_GAP_TO_BEST = 0.15


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
    scores = vectors[1:] @ vectors[0]
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
