"""The ask page, answers, ratings and the history, as served (the browser tests drive them; the page's
script asks and rates through the API, as here)."""

import json

from django.urls import reverse

from ingestion.models import Membership
from qa import services
from qa.models import Answer
from qa.views import linked_markers


def test_the_ask_page_ticks_the_corpus_it_was_opened_from(staff_client, corpus):
    html = staff_client.get(reverse("qa:ask") + f"?corpus={corpus.slug}").content.decode()
    assert f'value="{corpus.slug}"' in html
    assert "checked" in html


def test_the_ask_page_says_when_there_is_nothing_to_ask_about(staff_client):
    assert "There are no documents to ask about yet" in staff_client.get(reverse("qa:ask")).content.decode()


def ask(client, corpus, question="Why does copper wiring conduct electricity well?"):
    body = json.dumps({"question": question, "corpora": [corpus.slug]})
    return client.post(reverse("api:ask"), body, content_type="application/json").json()


def test_without_its_script_the_ask_page_answers_on_the_answer_page(staff_client, field_notes):
    data = {"question": "Which bird has the longest migration?", "corpora": [field_notes.slug]}
    response = staff_client.post(reverse("qa:ask"), data)
    answer = Answer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("qa:answer", args=[answer.pk])
    assert answer.question == "Which bird has the longest migration?"


def test_without_its_script_a_refused_question_shows_why_on_the_ask_page(staff_client, field_notes):
    response = staff_client.post(reverse("qa:ask"), {"question": "   ", "corpora": [field_notes.slug]})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Answer.objects.exists()


def test_a_thumbs_up_is_stored_with_the_answer_and_can_be_taken_back(staff_client, field_notes):
    answer_id = ask(staff_client, field_notes)["answer_id"]
    url = reverse("qa:rate", args=[answer_id])
    api_url = reverse("api:rate_answer", args=[answer_id])
    response = staff_client.post(api_url, {"rating": "up"}, content_type="application/json")
    assert response.json() == {"answer_id": answer_id, "rating": 1}
    answer = Answer.objects.get(pk=answer_id)
    assert answer.rating == 1
    assert answer.rated_at is not None
    staff_client.post(url, {"rating": "none"})
    answer.refresh_from_db()
    assert answer.rating is None
    assert answer.rated_at is None


def test_a_thumbs_down_from_the_answer_page_form_returns_to_the_answer(staff_client, field_notes):
    answer_id = ask(staff_client, field_notes)["answer_id"]
    response = staff_client.post(reverse("qa:rate", args=[answer_id]), {"rating": "down"})
    assert response.status_code == 302
    assert response["Location"] == reverse("qa:answer", args=[answer_id])
    assert Answer.objects.get(pk=answer_id).rating == -1


def test_a_rating_that_is_not_up_down_or_none_is_refused(staff_client, field_notes):
    answer_id = ask(staff_client, field_notes)["answer_id"]
    response = staff_client.post(reverse("qa:rate", args=[answer_id]), {"rating": "5"})
    assert response.status_code == 400
    assert Answer.objects.get(pk=answer_id).rating is None


def test_another_readers_answer_can_be_neither_read_nor_rated(staff_client, field_notes, client, django_user_model):
    answer_id = ask(staff_client, field_notes)["answer_id"]
    other = django_user_model.objects.create_user(username="other", password="x")
    Membership.objects.create(corpus=field_notes, user=other, role=Membership.Role.READER)
    client.force_login(other)
    assert client.get(reverse("qa:answer", args=[answer_id])).status_code == 404
    assert client.post(reverse("qa:rate", args=[answer_id]), {"rating": "up"}).status_code == 404
    assert Answer.objects.get(pk=answer_id).rating is None


def test_staff_may_read_anyones_answer_but_not_rate_it(staff_client, field_notes, django_user_model):
    from django.test import Client

    asker = django_user_model.objects.create_user(username="asker", password="x")
    Membership.objects.create(corpus=field_notes, user=asker, role=Membership.Role.READER)
    asker_client = Client()
    asker_client.force_login(asker)
    answer_id = ask(asker_client, field_notes)["answer_id"]
    assert staff_client.get(reverse("qa:answer", args=[answer_id])).status_code == 200
    assert staff_client.post(reverse("qa:rate", args=[answer_id]), {"rating": "down"}).status_code == 403
    assert Answer.objects.get(pk=answer_id).rating is None


def test_the_history_lists_only_the_users_own_questions_newest_first(
    staff_client, field_notes, client, django_user_model
):
    ask(staff_client, field_notes, "Why does copper wiring conduct electricity well?")
    ask(staff_client, field_notes, "Which bird migrates the farthest?")
    other = django_user_model.objects.create_user(username="other", password="x", is_staff=True)
    services.ask("What makes sourdough rise?", [field_notes], user=other)
    html = staff_client.get(reverse("qa:history")).content.decode()
    assert html.index("Which bird migrates") < html.index("Why does copper wiring")
    assert "sourdough" not in html


def test_the_answer_page_links_each_marker_to_its_source(staff_client, field_notes):
    answer_id = ask(staff_client, field_notes)["answer_id"]
    answer = Answer.objects.get(pk=answer_id)
    source = answer.sources.get(number=1)
    Answer.objects.filter(pk=answer_id).update(text="Copper conducts well [1]. Nothing else is known [9].")
    html = staff_client.get(reverse("qa:answer", args=[answer_id])).content.decode()
    assert f'<a class="ref" href="{source.url}"' in html
    assert "[9]" in html  # a source the model never saw stays plain text


def test_markers_are_cut_out_of_the_answer_with_their_sources():
    pieces = linked_markers("A [1, 3] and B [2-3].", {1: "one", 2: "two", 3: "three"})
    assert pieces[0] == {"text": "A "}
    assert [part["source"] for part in pieces[1]["marker"]] == ["one", None, "three"]
    assert [part["text"] for part in pieces[3]["marker"]] == ["2", "-", "3"]
    assert pieces[-1] == {"text": "."}


def test_asking_more_than_the_limit_in_a_minute_is_refused_with_a_plain_message(staff_client, field_notes, settings):
    settings.ASK_LIMIT_PER_MINUTE = 2
    ask(staff_client, field_notes)
    ask(staff_client, field_notes)
    question = {"question": "And once more?", "corpora": [field_notes.slug]}
    for endpoint in ("api:ask", "api:ask_stream"):
        response = staff_client.post(reverse(endpoint), question, content_type="application/json")
        assert response.status_code == 429
        assert "2 questions in the last minute" in response.json()["detail"]
    response = staff_client.post(reverse("qa:ask"), question)
    assert response.status_code == 429
    assert "2 questions in the last minute" in response.content.decode()
    assert Answer.objects.count() == 2


def test_the_limit_counts_only_the_last_minute_and_each_user_alone(staff_client, field_notes, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.ASK_LIMIT_PER_MINUTE = 1
    first = ask(staff_client, field_notes)["answer_id"]
    Answer.objects.filter(pk=first).update(created_at=timezone.now() - timedelta(seconds=61))
    assert "answer_id" in ask(staff_client, field_notes)
    Answer.objects.update(asked_by=None)  # someone else's questions do not count
    assert "answer_id" in ask(staff_client, field_notes)
