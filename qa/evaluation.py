"""Retrieval and answer evaluation: question files, what counts as a hit, and the metrics.

Plain Python. A question has gold answer strings and a gold document (and page); a retrieved
passage is a hit when it comes from that document (and page) and contains a gold answer. An answer
(extracted or generated) is scored by whether it contains a gold answer, and a generated one also by
SQuAD's token F1.
"""

import hashlib
import json
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ARTICLES = re.compile(r"\b(a|an|the)\b")
NOT_IN_NAMES = re.compile(r"[^\w.-]+")
CITATION_MARKS = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


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
    """SQuAD v1.1 JSON (with its paragraphs as documents), HotpotQA in the Hugging Face layout (JSONL, with
    each question's ten paragraphs as documents) or JSONL of {question, answers, doc, page}."""
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{") and '"data"' in text[:2000]:
        return load_squad(json.loads(text))
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    if rows and "supporting_facts" in rows[0] and "context" in rows[0]:
        return load_hotpotqa(rows)
    questions = []
    for row in rows:
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


def hotpot_name(title: str) -> str:
    """A document name for a Wikipedia title: readable, and unique (titles differ only in punctuation)."""
    readable = NOT_IN_NAMES.sub("_", title).strip("_")[:80]
    return f"{readable}-{hashlib.sha1(title.encode()).hexdigest()[:6]}.txt"


def load_hotpotqa(rows: list[dict]) -> QuestionSet:
    """Each title's paragraph is a document (shared by every question that has it). A question's gold
    document is the supporting paragraph that holds its answer (the second hop), else its first one."""
    paragraphs: dict[str, Paragraph] = {}
    questions = []
    for row in rows:
        texts = {}
        for title, sentences in zip(row["context"]["title"], row["context"]["sentences"], strict=True):
            texts[title] = "".join(sentences).strip()
            paragraphs.setdefault(title, Paragraph(name=hotpot_name(title), title=title, text=texts[title]))
        supporting = [title for title in dict.fromkeys(row["supporting_facts"]["title"]) if title in texts]
        answer = row["answer"]
        holding = [title for title in supporting if contains_answer(texts[title], [answer])]
        gold = (holding or supporting or [row["context"]["title"][0]])[0]
        questions.append(Question(text=row["question"], answers=[answer], doc=hotpot_name(gold)))
    return QuestionSet(questions=questions, paragraphs=list(paragraphs.values()))


def normalize(text: str) -> str:
    """Lowercase, no punctuation or articles, single spaces: SQuAD's answer normalization."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    text = ARTICLES.sub(" ", text)
    return " ".join(text.split())


def contains_answer(text: str, answers: list[str]) -> bool:
    haystack = f" {normalize(text)} "
    return any(f" {normalize(a)} " in haystack for a in answers if normalize(a))


def token_f1(text: str, answers: list[str]) -> float:
    """SQuAD's token F1 of an answer against the best-matching gold answer; citation marks do not count."""
    predicted = normalize(CITATION_MARKS.sub(" ", text)).split()
    best = 0.0
    for answer in answers:
        gold = normalize(answer).split()
        common = sum((Counter(predicted) & Counter(gold)).values())
        if common:
            precision, recall = common / len(predicted), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


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
    generated_count: int = 0
    generated_hits: int = 0
    generated_f1: float = 0.0
    generated_failures: int = 0  # the LLM server failed: counted as empty answers

    def add(self, rank: int | None, *, in_budget: bool, extractive: bool | None) -> None:
        self.count += 1
        self.ranks.append(rank)
        self.budget_hits += in_budget
        if extractive is not None:
            self.extractive_count += 1
            self.extractive_hits += extractive

    def add_generated(self, text: str | None, answers: list[str]) -> None:
        """A generated answer, or None when the server failed to give one."""
        self.generated_count += 1
        self.generated_failures += text is None
        self.generated_hits += contains_answer(text or "", answers)
        self.generated_f1 += token_f1(text or "", answers)

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
        if self.generated_count:
            result["generated_contains_answer"] = round(self.generated_hits / self.generated_count, 4)
            result["generated_token_f1"] = round(self.generated_f1 / self.generated_count, 4)
            result["generated_failures"] = self.generated_failures
        return result


def sample(items: list, limit: int) -> Iterator:
    """Every n-th item so a limited run still covers the whole file."""
    if not limit or limit >= len(items):
        yield from items
        return
    step = len(items) / limit
    for i in range(limit):
        yield items[int(i * step)]
