"""Asking end to end: the real retrieval and embedder, our real client, and the fake TGI server over HTTP."""

import json
import time
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from ingestion.tasks import ingest
from qa import answering, services
from qa.models import Answer, Citation
from testkit.documents import make_pdf
from testkit.fake_llm import refused_url

TERN = "The Arctic tern migrates from the Arctic to the Antarctic and back each year [1]."
QUESTION = "Which bird has the longest migration?"


def ask(corpus, question: str = QUESTION, *, user=None) -> Answer:
    return services.ask(question, [corpus], user=user)


def test_a_generated_answer_is_stored_with_verified_citations_of_sources_in_the_prompt(field_notes, fake_llm):
    fake_llm.answer = TERN
    answer = ask(field_notes)
    assert (answer.mode, answer.status, answer.backend) == ("generated", "complete", "tgi")
    assert answer.text == TERN
    assert answer.model == "jondurbin/airoboros-70b-3.3"
    citation = answer.citations.get()
    assert citation.source.number == 1
    assert citation.source.page == 3
    assert citation.is_verified
    assert answer.retrieval_ms > 0
    assert answer.first_token_ms >= answer.retrieval_ms
    assert answer.total_ms > 0
    prompt = fake_llm.requests[-1][1]["inputs"]
    assert "source: 1\ntitle: Field notes" in prompt
    assert f"BEGININSTRUCTION\n{QUESTION}\n" in prompt
    assert answer.sources.count() == prompt.count("BEGININPUT\nBEGINCONTEXT")


def test_a_citation_of_a_source_that_was_not_in_the_prompt_is_dropped_and_counted(field_notes, fake_llm):
    fake_llm.answer = "Terns fly far [1]. Penguins fly further [9]."
    answer = ask(field_notes)
    assert [c.source.number for c in answer.citations.all()] == [1]
    assert answer.unknown_references == 1
    assert not Citation.objects.exclude(source__answer=answer).filter(answer=answer).exists()


def test_a_citation_the_source_does_not_support_is_marked_unverified(field_notes, fake_llm):
    fake_llm.answer = "Copper wiring is the best conductor for long power lines [1]."
    answer = ask(field_notes)
    citation = answer.citations.get()
    assert citation.source.page == 3
    assert not citation.is_verified


def test_a_citation_by_echoed_metadata_maps_to_its_block(field_notes, fake_llm, settings):
    first = ask(field_notes)  # to learn the url the prompt gives source 1
    url = first.sources.get(number=1).url
    fake_llm.answer = f"The Arctic tern migrates from the Arctic to the Antarctic each year.\nSource: url: {url}"
    citation = ask(field_notes).citations.get()
    assert (citation.source.number, citation.form) == (1, "metadata")
    assert citation.is_verified


def test_an_unreachable_server_gives_the_passages_and_a_plain_message(field_notes, fake_llm, settings):
    settings.LLM_URL = refused_url()
    answer = ask(field_notes)
    assert answer.status == "unavailable"
    assert answer.message.startswith("The answer service could not be reached.")
    assert answer.sources.first().page == 3
    assert answer.text == ""


@pytest.mark.parametrize("failure", ["422", "424", "429", "500", "stall"])
def test_a_failing_server_gives_the_passages_and_a_plain_message(field_notes, fake_llm, failure):
    fake_llm.failure, fake_llm.stall_seconds = failure, 5
    answer = ask(field_notes)
    assert answer.status == "unavailable"
    assert answer.message.startswith("The answer service")
    assert answer.sources.exists()


def test_a_stream_cut_in_the_middle_keeps_the_partial_answer_marked_incomplete(field_notes, fake_llm):
    fake_llm.answer, fake_llm.failure, fake_llm.cut_after = TERN, "cut", 4
    answer = ask(field_notes)
    assert answer.status == "incomplete"
    assert answer.text
    assert TERN.startswith(answer.text)
    assert len(answer.text) < len(TERN) / 2
    assert "incomplete" in answer.message
    assert answer.sources.exists()


def test_an_answer_cut_at_the_length_limit_says_so(field_notes, fake_llm, settings):
    settings.LLM_MAX_NEW_TOKENS = 3
    fake_llm.answer = TERN
    answer = ask(field_notes)
    assert answer.status == "incomplete"
    assert answer.finish_reason == "length"


def test_an_openai_compatible_server_answers_through_chat_messages(field_notes, fake_llm, settings):
    settings.LLM_BACKEND = "openai"
    fake_llm.answer = TERN
    answer = ask(field_notes)
    assert answer.status == "complete"
    assert answer.backend == "openai"
    assert fake_llm.requests[-1][0] == "/v1/chat/completions"
    assert answer.citations.get().is_verified


def test_without_an_llm_the_answer_is_extracted_and_says_so(field_notes, settings):
    settings.LLM_URL, settings.LLM_BACKEND = "", "extractive"
    answer = ask(field_notes)
    assert answer.mode == "extracted"
    assert "Arctic tern" in answer.text
    assert "[1]" in answer.text
    assert all(c.is_verified for c in answer.citations.all())
    assert answer.citations.exists()


def test_an_extracted_answer_over_a_pdf_with_running_heads_quotes_the_answer_and_cites_its_page(
    corpus, upload, tmp_path, settings
):
    settings.LLM_URL, settings.LLM_BACKEND = "", "extractive"
    words = {1: "tulip", 2: "rose", 3: "lily", 4: "dahlia", 5: "orchid"}
    pages = [
        f"Field notes, page {n}.\nThe weather was mild and we walked along the river for an hour.\n"
        f"The code word on page {n} is {word}. We wrote it down twice."
        for n, word in words.items()
    ]
    document = upload(make_pdf(tmp_path / "field-notes.pdf", pages=pages))
    ingest(document.pk)
    answer = ask(corpus, "Which code word was written on the fourth page of the field notes?")
    assert answer.mode == "extracted"
    number = answer.citations.get().source.number
    assert answer.text == f"The code word on page 4 is dahlia. [{number}]"
    assert answer.citations.get().source.page == 4


def test_an_extracted_answers_source_is_labelled_quoted_not_verified(staff_client, field_notes, settings):
    settings.LLM_URL, settings.LLM_BACKEND = "", "extractive"
    html = staff_client.get(ask(field_notes).get_absolute_url()).content.decode()
    assert '<span class="status status-ready">quoted</span>' in html
    assert ">verified<" not in html


def test_a_question_over_nothing_relevant_gets_no_passages_and_a_message(field_notes, fake_llm):
    answer = ask(field_notes, "Quarterly tax filing deadlines for corporations")
    assert answer.status == "no_passages"
    assert answer.message
    assert fake_llm.requests == []


def test_a_question_over_an_empty_corpus_gets_a_message_not_an_error(corpus, fake_llm):
    assert ask(corpus).status == "no_passages"


def post_json(client, url_name: str, payload: dict):
    """Asks as the ask page's script does: the API's routes, with the session."""
    url = {"answer": "/api/v1/ask", "stream": "/api/v1/ask/stream"}[url_name]
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def test_the_json_endpoint_returns_the_answer_with_citations(staff_client, field_notes, fake_llm):
    fake_llm.answer = TERN
    response = post_json(staff_client, "answer", {"question": QUESTION, "corpora": [field_notes.slug]})
    assert response.status_code == 200
    data = response.json()
    assert data["answer"] == TERN
    assert data["is_generated"]
    assert data["citations"][0]["source"] == 1
    assert data["citations"][0]["verified"]
    assert data["sources"][0]["page"] == 3


@pytest.mark.parametrize(
    ("payload", "status"),
    [({}, 422), ({"question": ""}, 422), ({"question": "x", "corpora": ["no-such-corpus"]}, 400)],
)
def test_the_json_endpoint_rejects_bad_input_in_words(staff_client, field_notes, payload, status):
    # 422: not the API's schema at all; 400: the question cannot be asked (the form's checks).
    response = post_json(staff_client, "answer", payload)
    assert response.status_code == status
    assert response.json()["detail"]


def test_the_json_endpoint_with_the_server_down_answers_200_with_passages(staff_client, field_notes, settings):
    settings.LLM_URL, settings.LLM_BACKEND = refused_url(), "tgi"
    data = post_json(staff_client, "answer", {"question": QUESTION}).json()
    assert data["status"] == "unavailable"
    assert data["sources"]


def read_events(response) -> list[tuple[float, str, dict]]:
    events = []
    for part in response.streaming_content:
        for block in part.decode().strip().split("\n\n"):
            kind, data = block.split("\n", 1)
            events.append((time.monotonic(), kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def test_the_stream_sends_sources_then_tokens_as_they_come_then_citations(staff_client, field_notes, fake_llm):
    fake_llm.answer, fake_llm.token_delay = TERN, 0.1
    response = post_json(staff_client, "stream", {"question": QUESTION})
    assert response["Content-Type"] == "text/event-stream"
    events = read_events(response)
    kinds = [kind for _, kind, _ in events]
    assert kinds[:2] == ["searched", "sources"]
    assert events[0][2]["searched_for"] == QUESTION
    assert kinds[-1] == "done"
    assert set(kinds[2:-1]) == {"token"}
    assert "".join(data["text"] for _, kind, data in events if kind == "token") == TERN
    first_token_at = next(at for at, kind, _ in events if kind == "token")
    assert events[-1][0] - first_token_at > 0.5  # the first words arrived well before the end
    assert events[-1][2]["citations"][0]["verified"]


def test_the_stream_with_the_server_down_ends_with_the_message_and_passages(staff_client, field_notes, settings):
    settings.LLM_URL, settings.LLM_BACKEND = refused_url(), "tgi"
    events = read_events(post_json(staff_client, "stream", {"question": QUESTION}))
    done = events[-1][2]
    assert done["status"] == "unavailable"
    assert done["sources"]
    assert done["message"]


def test_asking_needs_a_logged_in_user(client, field_notes):
    response = post_json(client, "answer", {"question": QUESTION})
    assert response.status_code == 401
    assert "log in" in response.json()["detail"]
    response = client.post(reverse("qa:ask"), {"question": QUESTION})  # the ask page's form
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_answer_page_escapes_text_and_highlights_the_cited_sentence(staff_client, field_notes, fake_llm):
    fake_llm.answer = "<script>alert(1)</script> The Arctic tern migrates to the Antarctic each year [1]."
    answer = ask(field_notes, user=staff_client.user)
    page = staff_client.get(answer.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<mark>The Arctic tern migrates" in page
    assert ">verified<" in page


def test_the_ask_command_prints_the_answer_and_its_citations(field_notes, fake_llm, capsys):
    from django.core.management import call_command

    fake_llm.answer = TERN
    call_command("ask", QUESTION, corpus=[field_notes.slug])
    out = capsys.readouterr().out
    assert "Generated by jondurbin/airoboros-70b-3.3" in out
    assert "[1] verified" in out
    assert "page 3" in out
    call_command("ask", QUESTION, corpus=[field_notes.slug], json=True)
    assert json.loads(capsys.readouterr().out)["citations"][0]["source"] == 1


def test_a_reader_who_leaves_mid_stream_leaves_a_record_marked_incomplete(field_notes, fake_llm):
    fake_llm.answer, fake_llm.token_delay = TERN, 0.05
    events = services.answer_question(QUESTION, [field_notes])
    answer_id = next(events).data["answer_id"]
    next(events)  # the first token
    events.close()
    answer = Answer.objects.get(pk=answer_id)
    assert answer.status == "incomplete"
    assert answer.message == services.STOPPED
    assert TERN.startswith(answer.text)


def test_a_title_shared_by_several_passages_names_none_of_them(corpus, upload, tmp_path, fake_llm):
    from ingestion.tasks import ingest
    from testkit.documents import make_pdf

    pages = [f"The Arctic tern flies far every year, note {n}. It migrates from pole to pole." for n in range(4)]
    ingest(upload(make_pdf(tmp_path / "terns.pdf", pages=pages, title="Tern notes")).pk)
    fake_llm.answer = "The Arctic tern migrates from pole to pole.\ntitle: Tern notes"
    answer = ask(corpus, "Where does the Arctic tern migrate?")
    assert answer.sources.count() > 1
    assert not answer.citations.exists()


def test_passages_too_long_for_the_server_are_shown_without_asking_it(field_notes, fake_llm):
    fake_llm.max_input_tokens = 60
    answer = ask(field_notes)
    assert answer.status == "unavailable"
    assert answer.message.startswith(answering.NO_ROOM)
    assert answer.sources.exists()
    assert all(path != "/" for path, _ in fake_llm.requests)


def test_text_the_database_cannot_hold_does_not_break_the_answer(field_notes, fake_llm):
    fake_llm.answer = "The Arctic tern\x00 migrates to the Antarctic each year [1]."
    answer = ask(field_notes)
    assert answer.status == "complete"
    assert "\x00" not in answer.text


def test_a_citation_link_opens_the_document_with_its_passage_marked(staff_client, field_notes, fake_llm):
    fake_llm.answer = TERN
    source = ask(field_notes).citations.get().source
    url = urlsplit(source.url)
    assert url.path == f"/documents/{source.document_id}/"
    assert url.fragment == "page=3"
    page = staff_client.get(f"{url.path}?{url.query}").content.decode()
    assert f'id="chunk-{source.chunk_id}" value="3" class="cited"' in page
    assert "<mark>The Arctic tern migrates" in page
