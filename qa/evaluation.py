"""Retrieval evaluation: question files, what counts as a hit, and the metrics.

Plain Python. A question has gold answer strings and a gold document (and page); a retrieved
passage is a hit when it comes from that document (and page) and contains a gold answer.
"""

import json
import re
import string
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ARTICLES = re.compile(r"\b(a|an|the)\b")


@dataclass(frozen=True)
class Question:
    text: str
    answers: list[str]
    doc: str  # the gold document's name
    page: int | None = None


@dataclass(frozen=True)
class Paragraph:
    name: str  # a document name, unique in the set
    title: str
    text: str


@dataclass
class QuestionSet:
    questions: list[Question]
    paragraphs: list[Paragraph] = field(default_factory=list)  # documents to ingest, when the file has them


def squad_name(title: str, number: int) -> str:
    return f"{title}-p{number:03d}.txt"


def load_questions(path: Path) -> QuestionSet:
    """SQuAD v1.1 JSON (with its paragraphs as documents) or JSONL of {question, answers, doc, page}."""
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{") and '"data"' in text[:2000]:
        return load_squad(json.loads(text))
    questions = []
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            answers = row["answers"]
            questions.append(
                Question(
                    text=row["question"],
                    answers=[answers] if isinstance(answers, str) else list(answers),
                    doc=str(row["doc"]),
                    page=row.get("page"),
                )
            )
    return QuestionSet(questions=questions)


def load_squad(data: dict) -> QuestionSet:
    questions, paragraphs = [], []
    for article in data["data"]:
        title = article["title"].replace("_", " ")
        for number, paragraph in enumerate(article["paragraphs"], start=1):
            name = squad_name(article["title"], number)
            paragraphs.append(Paragraph(name=name, title=f"{title} ({number})", text=paragraph["context"]))
            for qa in paragraph["qas"]:
                answers = sorted({a["text"] for a in qa["answers"]})
                if answers:
                    questions.append(Question(text=qa["question"], answers=answers, doc=name))
    return QuestionSet(questions=questions, paragraphs=paragraphs)


def normalize(text: str) -> str:
    """Lowercase, no punctuation or articles, single spaces: SQuAD's answer normalization."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    text = ARTICLES.sub(" ", text)
    return " ".join(text.split())


def contains_answer(text: str, answers: list[str]) -> bool:
    haystack = f" {normalize(text)} "
    return any(f" {normalize(a)} " in haystack for a in answers if normalize(a))


@dataclass(frozen=True)
class Retrieved:
    doc: str
    page: int | None
    text: str


def is_hit(question: Question, passage: Retrieved) -> bool:
    if passage.doc != question.doc:
        return False
    if question.page is not None and passage.page != question.page:
        return False
    return contains_answer(passage.text, question.answers)


def first_hit_rank(question: Question, ranked: list[Retrieved]) -> int | None:
    """The 1-based rank of the first hit, or None."""
    for rank, passage in enumerate(ranked, start=1):
        if is_hit(question, passage):
            return rank
    return None


@dataclass
class Scores:
    count: int = 0
    ranks: list[int | None] = field(default_factory=list)
    budget_hits: int = 0
    extractive_hits: int = 0
    extractive_count: int = 0
    budget: int = 0

    def add(self, rank: int | None, *, in_budget: bool, extractive: bool | None) -> None:
        self.count += 1
        self.ranks.append(rank)
        self.budget_hits += in_budget
        if extractive is not None:
            self.extractive_count += 1
            self.extractive_hits += extractive

    def recall_at(self, k: int) -> float:
        return sum(1 for r in self.ranks if r is not None and r <= k) / max(self.count, 1)

    def summary(self) -> dict:
        result = {
            "questions": self.count,
            "recall@1": round(self.recall_at(1), 4),
            "recall@5": round(self.recall_at(5), 4),
            "recall@10": round(self.recall_at(10), 4),
            "mrr": round(sum(1 / r for r in self.ranks if r) / max(self.count, 1), 4),
            "recall@budget": round(self.budget_hits / max(self.count, 1), 4),
            "budget_tokens": self.budget,
        }
        if self.extractive_count:
            result["extractive_contains_answer"] = round(self.extractive_hits / self.extractive_count, 4)
        return result


def sample(items: list, limit: int) -> Iterator:
    """Every n-th item so a limited run still covers the whole file."""
    if not limit or limit >= len(items):
        yield from items
        return
    step = len(items) / limit
    for i in range(limit):
        yield items[int(i * step)]
