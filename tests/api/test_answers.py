"""Asking through the API, and one's own answers."""

import json

from ingestion.models import Document, Membership
from qa.models import Answer

from ..qa.test_answers import QUESTION, TERN, read_events


def ask(api, payload: dict, stream: bool = False):
    return api.post(f"/api/v1/ask{'/stream' if stream else ''}", json.dumps(payload), content_type="application/json")


def test_asking_returns_the_answer_with_its_sources_and_verified_citations(api, member, field_notes, make_member,
                                                                            fake_llm):  # fmt: skip
    make_member(member, field_notes, Membership.Role.READER)
    fake_llm.answer = TERN
    response = ask(api, {"question": QUESTION, "corpora": [field_notes.slug]})
    assert response.status_code == 200
    data = response.json()
    assert data["answer"] == TERN
    assert data["status"] == "complete"
    assert data["sources"][0]["page"] == 3
    assert data["citations"][0]["verified"]
    assert Answer.objects.get(pk=data["answer_id"]).asked_by == member


def test_the_streaming_variant_sends_sources_then_tokens_then_done(api, member, field_notes, make_member, fake_llm):
    make_member(member, field_notes, Membership.Role.READER)
    fake_llm.answer = TERN
    response = ask(api, {"question": QUESTION}, stream=True)
    assert response["Content-Type"] == "text/event-stream"
    kinds = [kind for _, kind, _ in read_events(response)]
    assert kinds[:2] == ["searched", "sources"]
    assert kinds[-1] == "done"
    assert "token" in kinds


def test_a_question_about_a_corpus_the_user_may_not_read_is_refused(api, field_notes):
    response = ask(api, {"question": QUESTION, "corpora": [field_notes.slug]})
    assert response.status_code == 400
    assert "corpora" in response.json()["fields"]
    assert not Answer.objects.exists()


def test_an_empty_or_overlong_question_is_refused_with_the_reason(api):
    for question in ("", "x" * 2001, "   "):
        response = ask(api, {"question": question})
        assert response.status_code in (400, 422)
        assert "question" in response.json()["detail"] or response.json()["fields"]["question"]
    assert not Answer.objects.exists()


def test_a_question_over_no_corpus_at_all_says_nothing_matches(api):
    data = ask(api, {"question": QUESTION}).json()
    assert data["status"] == "no_passages"
    assert data["message"]


def test_asking_over_the_limit_is_refused_with_429(api, member, field_notes, make_member, settings):
    make_member(member, field_notes, Membership.Role.READER)
    settings.ASK_LIMIT_PER_MINUTE = 1
    assert ask(api, {"question": QUESTION}).status_code == 200
    refused = ask(api, {"question": QUESTION}, stream=True)
    assert refused.status_code == 429
    assert "Wait a moment" in refused.json()["detail"]


def test_the_user_sees_their_answers_and_not_others(api, member, field_notes, make_member, django_user_model):
    make_member(member, field_notes, Membership.Role.READER)
    mine = ask(api, {"question": QUESTION}).json()["answer_id"]
    other = Answer.objects.create(question="Someone else's", asked_by=django_user_model.objects.create(username="o"),
                                  mode="extracted", backend="extractive")  # fmt: skip
    listed = api.get("/api/v1/answers").json()
    assert [row["answer_id"] for row in listed["items"]] == [mine]
    assert listed["items"][0]["corpora"] == [field_notes.slug]
    assert api.get(f"/api/v1/answers/{mine}").status_code == 200
    assert api.get(f"/api/v1/answers/{other.pk}").status_code == 404


def test_an_answer_hides_the_sources_of_documents_the_user_can_no_longer_read(api, member, field_notes,
                                                                               make_member):  # fmt: skip
    make_member(member, field_notes, Membership.Role.READER)
    answer_id = ask(api, {"question": QUESTION}).json()["answer_id"]
    Membership.objects.filter(user=member).delete()
    data = api.get(f"/api/v1/answers/{answer_id}").json()
    assert data["sources"] == []
    assert data["sources_hidden"] > 0
    assert Document.objects.exists()


def test_the_asker_can_rate_their_answer(api, member, field_notes, make_member):
    make_member(member, field_notes, Membership.Role.READER)
    answer_id = ask(api, {"question": QUESTION}).json()["answer_id"]
    response = api.post(f"/api/v1/answers/{answer_id}/rating", json.dumps({"rating": "up"}),
                        content_type="application/json")  # fmt: skip
    assert response.json() == {"answer_id": answer_id, "rating": 1}
    assert Answer.objects.get(pk=answer_id).rating == 1
