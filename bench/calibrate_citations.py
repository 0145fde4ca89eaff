"""Calibrates the support threshold that marks a citation "verified", on BEIR SciFact claims.

Usage: python bench/calibrate_citations.py
A SciFact claim with a SUPPORT label, paired with the abstract it is judged against, is a citation
that should verify. The same claim paired with the most similar abstract that is NOT judged relevant
(a plausible wrong citation) should not. Prints the precision and recall of each threshold, and the
threshold with the best F1. Uses the support score of qa/citations.py and the bundled embedder.
Needs ../shared/eval/beir-scifact (or SHARED_DIR).
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingestion import embeddings  # noqa: E402
from qa import citations  # noqa: E402

SCIFACT = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "eval" / "beir-scifact"
PASSAGE_CHARS = 1500  # about one of our passages


def main() -> None:
    encoder = embeddings.load_encoder(embeddings.BUNDLED_MODEL)
    docs = {
        d["_id"]: d["text"][:PASSAGE_CHARS] for d in map(json.loads, (SCIFACT / "corpus.reconstructed.jsonl").open())
    }
    doc_ids = list(docs)
    doc_vectors = encoder.encode([docs[i] for i in doc_ids])
    pairs = []  # (claim, passage, should_verify, label)
    for query in map(json.loads, (SCIFACT / "queries.jsonl").open()):
        judged = query["metadata"]
        if not judged:
            continue
        claim_vector = encoder.encode([query["text"]])[0]
        for doc_id, evidence in judged.items():
            pairs.append((query["text"], docs[doc_id], True, evidence[0]["label"]))
        # The most similar abstract that is not evidence for the claim: a wrong citation a model could make.
        for index in np.argsort(-(doc_vectors @ claim_vector)):
            if doc_ids[index] not in judged:
                pairs.append((query["text"], docs[doc_ids[index]], False, "UNRELATED"))
                break
    scores = np.array([citations.support([claim], passage, encoder.encode)[0].score for claim, passage, _, _ in pairs])
    labels = [label for *_, label in pairs]
    truth = np.array([should for _, _, should, _ in pairs])
    supported = np.array([label == "SUPPORT" for label in labels])
    print(
        f"{int(supported.sum())} supported, {int((~truth).sum())} wrong-citation pairs "
        f"({sum(label == 'CONTRADICT' for label in labels)} contradicting pairs reported apart)"
    )
    print("threshold  precision  recall(support)  recall(contradict)  wrong flagged verified")
    best = (0.0, 0.0)
    keep = supported | ~truth  # contradictions are neither: the passage is on topic but says the opposite
    for threshold in np.arange(0.30, 0.81, 0.05):
        verified = scores >= threshold
        true_positive = (verified & supported).sum()
        precision = true_positive / max((verified & keep).sum(), 1)
        recall = true_positive / supported.sum()
        contradict_recall = (verified & (truth & ~supported)).sum() / max((truth & ~supported).sum(), 1)
        false_rate = (verified & ~truth).sum() / (~truth).sum()
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        best = max(best, (f1, threshold))
        print(f"{threshold:9.2f}  {precision:9.3f}  {recall:15.3f}  {contradict_recall:18.3f}  {false_rate:22.3f}")
    print(f"best F1 {best[0]:.3f} at threshold {best[1]:.2f}")


if __name__ == "__main__":
    main()
