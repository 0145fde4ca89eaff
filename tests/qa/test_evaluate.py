"""The evaluate command: question files, hits, and the numbers it reports."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from qa import evaluation

from ..conftest import SHARED


def write_jsonl(path, rows) -> str:
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return str(path)


def test_a_hit_needs_the_gold_document_page_and_answer():
    question = evaluation.Question(text="q", answers=["Arctic tern"], doc="notes.pdf", page=3)
    assert evaluation.is_hit(question, evaluation.Retrieved("notes.pdf", 3, "The arctic tern flies."))
    assert not evaluation.is_hit(question, evaluation.Retrieved("notes.pdf", 2, "The arctic tern flies."))
    assert not evaluation.is_hit(question, evaluation.Retrieved("other.pdf", 3, "The arctic tern flies."))
    assert not evaluation.is_hit(question, evaluation.Retrieved("notes.pdf", 3, "A penguin swims."))


def test_answers_match_after_squad_normalization_but_not_inside_words():
    assert evaluation.contains_answer("It cost $42, said the report.", ["42"])
    assert evaluation.contains_answer("Denver Broncos won.", ["the Denver Broncos"])
    assert not evaluation.contains_answer("It cost 420 dollars.", ["42"])


def test_metrics_count_ranks_and_mrr():
    scores = evaluation.Scores(budget=100)
    for rank in (1, 3, None, 7):
        scores.add(rank, in_budget=rank is not None, extractive=None)
    summary = scores.summary()
    assert summary["recall@1"] == 0.25
    assert summary["recall@5"] == 0.5
    assert summary["recall@10"] == 0.75
    assert summary["mrr"] == round((1 + 1 / 3 + 1 / 7) / 4, 4)
    assert summary["recall@budget"] == 0.75


def test_evaluate_reports_json_metrics_for_a_jsonl_question_file(field_notes, tmp_path, capsys):
    path = write_jsonl(
        tmp_path / "questions.jsonl",
        [
            {
                "question": "Which bird has the longest migration?",
                "answers": ["Arctic tern"],
                "doc": "field-notes.pdf",
                "page": 3,
            },
            {
                "question": "Why does sourdough bread rise?",
                "answers": ["wild yeast"],
                "doc": "field-notes.pdf",
                "page": 2,
            },
        ],
    )
    call_command("evaluate", corpus=field_notes.slug, questions=path, json=True)
    result = json.loads(capsys.readouterr().out)
    assert {"recall@1", "recall@5", "recall@10", "mrr", "recall@budget"} <= result.keys()
    assert result["recall@1"] == 1.0
    assert result["extractive_contains_answer"] == 1.0


def test_evaluate_on_a_missing_corpus_says_so(db, tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"question": "q", "answers": ["a"], "doc": "d"}])
    with pytest.raises(CommandError, match="no corpus"):
        call_command("evaluate", corpus="nope", questions=path)


@pytest.mark.skipif(not (SHARED / "eval" / "squad").exists(), reason="../shared/eval/squad is not here")
def test_evaluate_ingests_squad_paragraphs_and_finds_their_answers(db, tmp_path, capsys):
    data = json.loads((SHARED / "eval" / "squad" / "dev-v1.1.json").read_text())
    data["data"] = [dict(data["data"][0], paragraphs=data["data"][0]["paragraphs"][:6])]
    path = tmp_path / "squad-small.json"
    path.write_text(json.dumps(data))
    call_command("evaluate", corpus="squad-small", questions=str(path), ingest=True, json=True)
    result = json.loads(capsys.readouterr().out)
    assert result["questions"] == sum(len(p["qas"]) for p in data["data"][0]["paragraphs"])
    assert result["recall@10"] >= 0.9


HOTPOTQA = SHARED / "eval" / "hotpotqa" / "hotpotqa_dev_distractor_500_factoid_hfformat.jsonl"


def test_a_hotpotqa_questions_gold_document_is_the_supporting_paragraph_that_holds_its_answer(tmp_path):
    row = {
        "question": "What government position was held by the woman who portrayed Corliss Archer in Kiss and Tell?",
        "answer": "Chief of Protocol",
        "supporting_facts": {"title": ["Kiss and Tell (1945 film)", "Shirley Temple"], "sent_id": [0, 1]},
        "context": {
            "title": ["Kiss and Tell (1945 film)", "Shirley Temple", "Janet Waldo"],
            "sentences": [
                ["Kiss and Tell is a 1945 comedy film starring Shirley Temple as Corliss Archer."],
                ["Shirley Temple Black was an American actress.", " She served as Chief of Protocol."],
                ["Janet Marie Waldo was an American radio actress."],
            ],
        },
    }
    path = tmp_path / "hotpot.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    loaded = evaluation.load_questions(path)
    assert [p.title for p in loaded.paragraphs] == ["Kiss and Tell (1945 film)", "Shirley Temple", "Janet Waldo"]
    assert loaded.questions[0].doc == evaluation.hotpot_name("Shirley Temple") == loaded.paragraphs[1].name
    assert loaded.paragraphs[1].text == "Shirley Temple Black was an American actress. She served as Chief of Protocol."
    assert len(loaded.questions) == 2


@pytest.mark.skipif(not HOTPOTQA.exists(), reason="../shared/eval/hotpotqa is not here")
def test_evaluate_ingests_hotpotqa_paragraphs_and_finds_their_answers(db, tmp_path, capsys):
    path = tmp_path / "hotpot-small.jsonl"
    path.write_text("\n".join(HOTPOTQA.read_text().splitlines()[:3]))
    call_command("evaluate", corpus="hotpot-small", questions=str(path), ingest=True, json=True)
    result = json.loads(capsys.readouterr().out)
    assert result["questions"] == 3
    assert result["recall@10"] >= 2 / 3
