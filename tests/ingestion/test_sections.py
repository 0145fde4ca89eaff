"""Headings as the passage's section path: found in every marked-up format, never a passage of their own, shown
on the card, and read with the passage by the embedder, the keyword index and the model."""

from pathlib import Path

import docx
import numpy as np
import pytest

from ingestion import corpus_index, encoders, extract, filetypes, markup, sections
from ingestion.models import Document
from ingestion.tasks import ingest
from qa import payloads, retrieval, services

GUIDE = """\
# Daemon guide

The daemon keeps your files in step across machines.

## Installation

### Linux

Install the package with apt and enable the unit.

## Troubleshooting

## Frozen sockets

When the socket hangs, stop the service, delete the stale lock file in the run folder and start it again.
"""


def test_each_section_carries_the_headings_it_lies_under_and_no_heading_is_text_of_its_own():
    marked = markup.read_markdown(GUIDE)
    found = sections.split(marked.text, marked.headings)
    bodies = [(s.path, " ".join(marked.text[s.start : s.end].split())) for s in found]
    assert bodies == [
        ("Daemon guide", "The daemon keeps your files in step across machines."),
        ("Daemon guide › Installation › Linux", "Install the package with apt and enable the unit."),
        ("Daemon guide › Frozen sockets", bodies[2][1]),
    ]
    # "Troubleshooting" has no words of its own: it is no section, and a heading of the same level ends it.
    assert bodies[2][1].startswith("When the socket hangs")


def test_a_heading_is_found_as_a_line_after_the_one_before_it_not_where_its_words_appear_in_a_sentence():
    text = "Usage\n\nSee Usage below.\n\nInstall\n\nRun it.\n\nUsage\n\nCall it."
    found = sections.split(text, [(1, "Install"), (1, "Usage"), (1, "Missing heading")])
    assert [(s.path, text[s.start : s.end].strip()) for s in found] == [
        ("", "Usage\n\nSee Usage below."),
        ("Install", "Run it."),
        ("Usage", "Call it."),
    ]


def test_a_long_path_keeps_its_innermost_headings():
    text = "\n".join(f"{'Chapter ' * 8}{level}" for level in range(1, 7)) + "\nBody."
    headings = [(level, f"{'Chapter ' * 8}{level}") for level in range(1, 7)]
    (found,) = sections.split(text, headings)
    assert len(found.path) <= sections.PATH_MAX_CHARS
    assert found.path.startswith("…")
    assert found.path.endswith("Chapter 6")


def test_restructuredtext_html_and_word_give_their_headings_with_levels(tmp_path):
    rst = markup.read_rst("Guide\n=====\n\nIntro.\n\nInstall\n-------\n\nRun pip.\n\nDeep\n~~~~\n\nMore.\n")
    assert rst.headings == [(1, "Guide"), (2, "Install"), (3, "Deep")]

    html = "<h1>Doc</h1><p>Intro</p><h2>Part <em>one</em></h2><p>Body</p><h3>Sub</h3><p>x</p>"
    path = tmp_path / "page.html"
    path.write_text(f"<html><body>{html}</body></html>")
    (page,) = extract.read_pages(path, filetypes.HTML, 0, 1)
    assert page.headings == ((1, "Doc"), (2, "Part one"), (3, "Sub"))
    assert [s.path for s in sections.split(page.text, page.headings)] == [
        "Doc",
        "Doc › Part one",
        "Doc › Part one › Sub",
    ]

    word = docx.Document()
    word.add_heading("Minutes", level=0)
    word.add_heading("Budget", level=1)
    word.add_paragraph("The budget was approved.")
    word.save(str(tmp_path / "minutes.docx"))
    (page,) = extract.read_pages(tmp_path / "minutes.docx", filetypes.DOCX, 0, 1)
    assert page.headings == ((1, "Minutes"), (2, "Budget"))


@pytest.fixture
def guide(corpus, upload, tmp_path):
    path = tmp_path / "daemon-guide.md"
    path.write_text(GUIDE)
    document = upload(path)
    ingest(document.pk)
    document.refresh_from_db()
    assert document.status == Document.Status.READY, document.error
    return document


def test_an_ingested_document_has_no_heading_only_passages_and_each_passage_has_its_path(guide):
    chunks = list(guide.chunks.order_by("ordinal"))
    assert [c.section for c in chunks] == [
        "Daemon guide",
        "Daemon guide › Installation › Linux",
        "Daemon guide › Frozen sockets",
    ]
    assert not any(c.text.strip() in ("Daemon guide", "Installation", "Linux", "Troubleshooting") for c in chunks)
    # The highlight lands on the passage's own words in the page's text.
    text = extract.read_pages(Path(guide.file.path), filetypes.MARKDOWN, 0, 1)[0].text
    assert all(text[c.char_start : c.char_end] == c.text for c in chunks)


def test_the_embedder_and_keyword_index_read_the_heading_path_with_the_passage(guide):
    linux = guide.chunks.get(section__endswith="Linux")
    encoder = encoders.encoder_for(guide.embedding_model)
    stored = corpus_index.vector_to_bytes(encoder.encode([f"{linux.section}\n\n{linux.text}"])[0])
    without = encoder.encode([linux.text])[0]
    assert np.frombuffer(linux.vector, dtype=np.float32) @ np.frombuffer(stored, dtype=np.float32) > 0.999
    assert np.frombuffer(linux.vector, dtype=np.float32) @ without < 0.999
    # "Linux" is only in the heading: keyword search alone finds the passage by it.
    hits = corpus_index.keyword_hits(guide.corpus, "linux", 5)
    assert [hit.id for hit in hits][:1] == [linux.pk]


def test_the_model_reads_the_section_and_the_source_card_shows_it(guide, fake_llm):
    fake_llm.answer = "Delete the stale lock file and start the service again [1]."
    answer = services.ask("What do I do when the socket hangs?", [guide.corpus], user=None)
    prompt = fake_llm.requests[-1][1]["inputs"]
    assert "title: Daemon guide\nsection: Daemon guide › Frozen sockets\n" in prompt
    source = answer.sources.get(number=1)
    assert source.section == "Daemon guide › Frozen sockets"
    assert payloads.source_data(source)["section"] == source.section


def test_retrieval_by_a_heading_word_finds_the_passage_under_it(guide):
    found = retrieval.retrieve("How do I set it up on Linux?", [guide.corpus], k=1)
    assert found.passages[0].chunk.section.endswith("Linux")
