"""Summaries of whole documents: the model card's format, map-reduce over sections with each sentence citing
its section, the extracted summary without an LLM, reuse, failures, and the API."""

import itertools
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from ingestion import encoders
from ingestion.models import Document
from ingestion.tasks import ingest
from qa import services, summaries, summarizing
from qa.models import Summary
from testkit.documents import long_pages, make_pdf
from testkit.fake_llm import refused_url

SECTION_REPLY = "This part is about the committee, the valley and the bridge."
FINAL_REPLY = "The document follows a committee's budget [1]. It ends with the river and the bridge [2]."
GUIDE = """\
# Daemon guide

## Installation

```sh
apt install daemon
```

The daemon keeps your files in step across every machine you use, copying each change as soon as it is saved.

## Troubleshooting

When the socket hangs, stop the service, delete the stale lock file and start the service once more.
"""


def embed(texts):
    return encoders.load_default_encoder().encode(texts)


def test_a_section_is_asked_for_in_the_model_cards_own_words():
    assert summaries.map_prompt("The text.", 130) == (
        summaries.SYSTEM,
        "BEGININPUT\nThe text.\nENDINPUT\nBEGININSTRUCTION\nSummarize the input in around 130 words.\nENDINSTRUCTION",
    )
    _, user = summaries.reduce_prompt(["First part.", "ENDINPUT Second part."], 80)
    assert user.startswith("BEGININPUT\nBEGINCONTEXT\nsource: 1\nENDCONTEXT\nFirst part.\nENDINPUT\n")
    assert user.count("ENDINPUT") == 2  # a summary cannot close its block
    assert "Summarize the input in around 80 words." in user


def test_consecutive_passages_are_grouped_into_sections_that_fit():
    assert summaries.group([100, 100, 100, 250, 40], 300) == [(0, 2), (3, 4)]
    assert summaries.group([500, 10], 300) == [(0, 0), (1, 1)]  # too large alone: a section of its own
    assert summaries.group([], 300) == []


def test_every_sentence_cites_a_section_its_own_marker_or_the_closest():
    sources = ["The committee approved the budget for next year.", "The river flooded the valley in spring."]
    text = summaries.cite_sentences("Floods hit the valley. The budget passed [1].", sources, embed)
    assert text == "Floods hit the valley. [2] The budget passed [1]."


def test_an_extracted_summary_quotes_prose_in_reading_order_and_no_headings_or_code():
    passages = ["Daemon guide\n\nInstallation\n\napt install daemon",
                "The daemon keeps your files in step across every machine you use, copying each change.",
                "When the socket hangs, stop the service, delete the stale lock file and start it again."]  # fmt: skip
    picked = summaries.extractive(passages, embed(passages), embed, count=5)
    assert [index for index, _ in picked] == [1, 2]
    assert all(len(sentence.split()) >= summaries.EXTRACTIVE_MIN_WORDS for _, sentence in picked)


@pytest.fixture
def long_report(corpus, upload, tmp_path):
    document = upload(make_pdf(tmp_path / "report.pdf", pages=long_pages(6), title="Report"))
    ingest(document.pk)
    document.refresh_from_db()
    assert document.status == Document.Status.READY, document.error
    return document


def made(document: Document) -> Summary:
    """The document's summary, asked for and made here (as the worker would)."""
    summary = summarizing.request_summary(document)
    summarizing.make_summary(summary.pk)
    return Summary.objects.get(pk=summary.pk)


def generations(fake_llm) -> list[str]:
    return [body["inputs"] for path, body in fake_llm.requests if path in ("/", "/generate", "/generate_stream")]


def test_a_long_document_is_summarized_section_by_section_then_as_a_whole_with_citations(long_report, fake_llm):
    fake_llm.max_input_tokens = 700  # a few pages a section
    fake_llm.replies = [("Each block is the summary of one section", FINAL_REPLY),
                        ("Summarize the input in around", SECTION_REPLY)]  # fmt: skip
    summary = made(long_report)
    assert (summary.status, summary.model, summary.is_extracted) == ("ready", "jondurbin/airoboros-70b-3.3", False)
    sections = list(summary.parts.filter(level=0))
    assert len(sections) >= 3
    assert summary.sections_done == summary.sections_total == len(sections) + 1
    assert [s.text for s in sections] == [SECTION_REPLY] * len(sections)
    assert sections[0].first_page == 1
    assert sections[-1].last_page == 6
    assert all(a.last_page <= b.first_page for a, b in itertools.pairwise(sections))
    assert summary.text == FINAL_REPLY
    assert summary.cited_level == 0
    prompts = generations(fake_llm)
    assert len(prompts) == len(sections) + 1
    assert "BEGININSTRUCTION\nSummarize the input in around 130 words.\nENDINSTRUCTION" in prompts[0]
    assert f"source: {len(sections)}\nENDCONTEXT\n{SECTION_REPLY}" in prompts[-1]

    # Asked again: the stored summary, with no new call to the model.
    again = summarizing.request_summary(long_report)
    assert (again.pk, again.status) == (summary.pk, "ready")
    assert len(generations(fake_llm)) == len(prompts)


def test_a_short_document_is_one_section_and_each_sentence_cites_it(long_report, fake_llm):
    fake_llm.answer = "A committee meets. A river rises."
    summary = made(long_report)
    assert summary.parts.count() == 1
    assert summary.text == "A committee meets. [1] A river rises. [1]"


def test_a_summary_asked_for_twice_while_it_is_made_is_made_once(long_report, fake_llm):
    first = summarizing.request_summary(long_report)
    second = summarizing.request_summary(long_report)
    assert first.pk == second.pk
    assert Summary.objects.count() == 1
    # A summary whose worker died (no heartbeat for long) is sent again.
    Summary.objects.filter(pk=first.pk).update(status="running", updated_at=timezone.now() - timedelta(hours=1))
    assert summarizing.request_summary(long_report).status == "queued"


def test_with_the_llm_server_down_the_summary_fails_with_a_message_and_can_be_tried_again(long_report, settings):
    settings.LLM_URL, settings.LLM_BACKEND, settings.LLM_TIMEOUT = refused_url(), "tgi", 2
    summary = made(long_report)
    assert summary.status == "failed"
    assert "could not be reached" in summary.message
    assert summarizing.request_summary(long_report).status == "queued"


def test_without_an_llm_the_summary_is_extracted_prose_that_cites_its_passages(corpus, upload, tmp_path):
    path = tmp_path / "daemon-guide.md"
    path.write_text(GUIDE)
    document = upload(path)
    ingest(document.pk)
    summary = made(Document.objects.get(pk=document.pk))
    assert (summary.status, summary.model, summary.is_extracted) == ("ready", "extracted", True)
    assert "apt install" not in summary.text
    assert "Troubleshooting" not in summary.text
    assert "keeps your files in step" in summary.text
    assert summary.text.endswith("]")
    assert all(part.first_chunk_id for part in summary.parts.all())


def test_a_document_not_ready_or_without_text_cannot_be_summarized(corpus, upload, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Some notes about the budget.")
    document = upload(path)  # queued, not ingested
    with pytest.raises(summarizing.SummaryRefused, match="still being read"):
        summarizing.request_summary(document)
    Document.objects.filter(pk=document.pk).update(status=Document.Status.FAILED)
    with pytest.raises(summarizing.SummaryRefused, match="no text"):
        summarizing.request_summary(Document.objects.get(pk=document.pk))


def test_the_api_starts_and_follows_a_summary_and_hides_other_teams_documents(api, member, make_member, corpus,
                                                                               long_report, fake_llm):  # fmt: skip
    assert api.post(f"/api/v1/documents/{long_report.pk}/summary").status_code == 404  # not a member yet
    make_member(member, corpus, "reader")
    assert api.get(f"/api/v1/documents/{long_report.pk}/summary").status_code == 404  # none yet
    fake_llm.answer = "A committee meets."
    started = api.post(f"/api/v1/documents/{long_report.pk}/summary")
    assert started.status_code == 202
    data = started.json()
    assert (data["status"], data["document_id"]) == ("queued", long_report.pk)
    summarizing.make_summary(data["summary_id"])
    done = api.get(f"/api/v1/documents/{long_report.pk}/summary").json()
    assert (done["status"], done["text"], done["words"]) == ("ready", "A committee meets. [1]", 3)
    assert done["sources"][0]["url"].endswith(f"#page={done['sources'][0]['first_page']}")
    assert json.loads(json.dumps(done))["sections"][0]["number"] == 1


def test_a_question_asking_for_a_summary_names_its_document_by_title_or_file_name():
    assert summaries.requested_name("Summarize the TGI streaming document.") == "the TGI streaming document"
    assert summaries.requested_name("Can you give me a summary of PEP 8?") == "PEP 8"
    assert summaries.requested_name("What does the summary say?") == ""
    titles = {1: ["Streaming", "tgi-docs-conceptual_streaming.md"], 2: ["PEP 8 – Style Guide", "pep-0008.rst"],
              3: ["TGI", "tgi-docs-basic_tutorials_consuming_tgi.md"]}  # fmt: skip
    assert summaries.best_match("the TGI streaming document", titles) == 1
    assert summaries.best_match("PEP 8", titles) == 2
    assert summaries.best_match("the differences between Rust and Go", titles) is None


def test_asking_for_a_summary_on_the_ask_page_answers_with_the_documents_summary(long_report, fake_llm, member):
    fake_llm.answer = "A committee meets about the budget. A river rises in the valley."
    first = services.ask("Summarize the report", [long_report.corpus], user=member)
    assert first.text.startswith("The summary of “Report” is being made")
    assert f"/documents/{long_report.pk}/summary/" in first.text
    summary = Summary.objects.get(document=long_report)
    summarizing.make_summary(summary.pk)

    again = services.ask("Please summarize the report.", [long_report.corpus], user=member)
    assert again.text == "Summary of “Report”: A committee meets about the budget. [1] A river rises in the valley. [1]"
    source = again.sources.get()
    assert (source.number, source.page, source.document_id) == (1, 1, long_report.pk)
    assert again.citations.count() == 2
    assert Summary.objects.count() == 1
