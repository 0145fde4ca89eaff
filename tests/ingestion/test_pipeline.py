"""The pipeline, run in the test process by calling the task function directly."""

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from ingestion import corpus_index, extract, pipeline, services, tasks
from ingestion.models import Chunk, Document
from ingestion.tasks import ingest
from qa.retrieval import retrieve
from testkit.documents import long_pages, make_docx, make_encrypted_pdf, make_pdf

Status = Document.Status


def ingested(document: Document) -> Document:
    ingest(document.pk)
    document.refresh_from_db()
    return document


def test_a_pdf_becomes_ready_with_page_numbered_chunks_and_vectors(upload, five_page_pdf):
    document = ingested(upload(five_page_pdf))
    assert document.status == Status.READY, document.error
    chunks = list(document.chunks.all())
    assert sorted({chunk.page for chunk in chunks}) == [1, 2, 3, 4, 5]
    assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        vector = np.frombuffer(chunk.vector, dtype=np.float32)
        assert vector.shape == (384,)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
    assert document.title == "Field notes"
    assert document.document_date is not None
    assert document.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"


def test_progress_counters_end_full_and_timings_are_kept(upload, five_page_pdf):
    document = ingested(upload(five_page_pdf))
    assert (document.pages_done, document.pages_total) == (5, 5)
    assert document.chunks_done == document.chunks_total == document.chunks.count()
    assert document.progress_percent == 100
    assert document.parse_seconds > 0
    assert document.embed_seconds > 0
    assert document.index_seconds is not None
    assert document.finished_at >= document.started_at


def test_chunk_spans_point_into_the_extracted_page_text(upload, tmp_path):
    pages = long_pages(3)
    document = ingested(upload(make_pdf(tmp_path / "long.pdf", pages=pages)))
    # What a document view will do to highlight a passage: extract the page again and cut the span.
    extracted = {page.number: page.text for page in extract.iter_pages(Path(document.file.path), "pdf")}
    for chunk in document.chunks.all():
        assert extracted[chunk.page][chunk.char_start : chunk.char_end] == chunk.text
        assert " ".join(chunk.text.split()) in " ".join(pages[chunk.page - 1].split())


def test_the_index_finds_a_sentence_on_the_page_it_came_from(corpus, upload, five_page_pdf):
    ingested(upload(five_page_pdf))
    found = retrieve("Which bird has the longest migration of any animal?", [corpus], k=3, use_keywords=False)
    assert found.passages[0].chunk.page == 3


def test_running_the_task_again_on_a_ready_document_changes_nothing(corpus, upload, five_page_pdf):
    document = ingested(upload(five_page_pdf))
    chunk_ids = list(document.chunks.values_list("pk", flat=True))
    ingest(document.pk)
    assert list(document.chunks.values_list("pk", flat=True)) == chunk_ids
    assert corpus_index.store_for(corpus.pk).meta()["count"] == len(chunk_ids)


def test_a_document_left_behind_by_a_dead_worker_is_redone_without_duplicates(corpus, upload, five_page_pdf):
    document = ingested(upload(five_page_pdf))
    count = document.chunks.count()
    # As a worker killed mid-way would leave it: in progress, silent for a long time.
    Document.objects.filter(pk=document.pk).update(
        status=Status.EMBEDDING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    document = ingested(document)
    assert document.status == Status.READY
    assert document.attempts == 2
    assert document.chunks.count() == count
    assert corpus_index.store_for(corpus.pk).meta()["count"] == count


def test_a_document_being_worked_on_is_not_taken_by_a_second_task(upload, five_page_pdf):
    document = upload(five_page_pdf)
    Document.objects.filter(pk=document.pk).update(status=Status.PARSING, heartbeat_at=timezone.now())
    document = ingested(document)
    assert document.status == Status.PARSING
    assert document.chunks.count() == 0


def test_a_document_that_keeps_killing_its_worker_is_given_up(upload, five_page_pdf, settings):
    document = upload(five_page_pdf)
    Document.objects.filter(pk=document.pk).update(attempts=settings.INGEST_MAX_ATTEMPTS)
    document = ingested(document)
    assert document.status == Status.FAILED
    assert "stopped unexpectedly 3 times" in document.error


def test_a_pdf_with_a_password_fails_with_a_plain_message(upload, tmp_path):
    pdf = make_encrypted_pdf(tmp_path / "locked.pdf", password="s3cret", pages=["Hidden"])
    document = ingested(upload(pdf))
    assert document.status == Status.FAILED
    assert "protected by a password" in document.error
    assert document.chunks.count() == 0
    # Trying again cannot change that, so it is not offered, and a retry asked for anyway does nothing.
    assert document.error_is_final
    assert not document.can_retry
    assert not services.retry_document(document)


def test_a_pdf_whose_own_title_is_a_file_name_is_titled_by_its_upload_name(upload, tmp_path):
    document = ingested(upload(make_pdf(tmp_path / "siege-of-vicksburg.pdf", pages=["Text."], title="Binder1.pdf")))
    assert document.title == ""
    assert document.display_title == "siege-of-vicksburg"


def test_a_failure_that_a_second_try_might_fix_can_be_retried(upload, tmp_path):
    document = ingested(upload(make_pdf(tmp_path / "scan.pdf", pages=["", ""])))
    assert document.status == Status.FAILED
    assert not document.error_is_final
    assert document.can_retry


def test_a_pdf_without_text_or_pictures_fails_with_a_plain_message(upload, tmp_path):
    document = ingested(upload(make_pdf(tmp_path / "blank.pdf", pages=["", ""])))
    assert document.status == Status.FAILED
    assert "No text could be found in this PDF, in its text or in its pictures (OCR)" in document.error
    assert document.ocr_pages_total == 0  # no picture to read


def test_a_pdf_with_some_pages_without_text_is_ready_with_a_warning(upload, tmp_path):
    document = ingested(upload(make_pdf(tmp_path / "mixed.pdf", pages=["Real text here.", "", "More text.", ""])))
    assert document.status == Status.READY
    assert document.warning.startswith("2 of 4 pages have no text")
    assert "pages 2, 4" in document.warning


def test_a_truncated_pdf_fails_as_damaged(upload, tmp_path):
    whole = make_pdf(tmp_path / "whole.pdf", pages=long_pages(3))
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    document = ingested(upload(cut))
    assert document.status == Status.FAILED
    assert "damaged" in document.error


def test_a_web_page_without_visible_text_fails_with_a_plain_message(upload, tmp_path):
    page = tmp_path / "blank.html"
    page.write_text("<html><head><script>document.title = 'x'</script></head><body>  </body></html>")
    document = ingested(upload(page))
    assert document.status == Status.FAILED
    assert document.error == "This web page has no visible text."


def test_scripts_in_a_web_page_are_not_indexed(upload, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>Visible words.</p><script>stealCookies()</script></body></html>")
    document = ingested(upload(page))
    text = " ".join(document.chunks.values_list("text", flat=True))
    assert "Visible words." in text
    assert "stealCookies" not in text


def test_word_markdown_and_text_files_become_ready(corpus, tmp_path):
    docx = make_docx(tmp_path / "a.docx", title="Minutes", paragraphs=["The board met on Monday."])
    files = {
        "a.docx": docx.read_bytes(),
        "b.md": b"# Guide\n\nInstall the package, then run it.",
        "c.txt": b"Plain notes about the harbour and its cranes.",
    }
    for name, data in files.items():
        document = services.accept_upload(file=SimpleUploadedFile(name, data), name=name, corpus=corpus).document
        document = ingested(document)
        assert document.status == Status.READY, (name, document.error)
        assert document.chunks.count() == 1
        assert document.chunks.get().page is None


def test_deleting_a_document_removes_its_file_chunks_and_index_entries(corpus, upload, five_page_pdf, tmp_path):
    keep = ingested(upload(make_pdf(tmp_path / "keep.pdf", pages=["A document that stays."])))
    gone = ingested(upload(five_page_pdf))
    path = gone.file.path
    services.delete_document(gone)
    assert not Document.objects.filter(pk=gone.pk).exists()
    assert Chunk.objects.filter(document_id=gone.pk).count() == 0
    assert not Path(path).exists()
    assert corpus_index.store_for(corpus.pk).meta()["count"] == keep.chunks.count()
    found = retrieve("Arctic tern migration", [corpus], k=5, use_keywords=False, min_score=-1)
    assert {passage.chunk.document_id for passage in found.passages} == {keep.pk}


def test_the_warning_for_one_blank_page_reads_in_the_singular(upload, tmp_path):
    document = ingested(upload(make_pdf(tmp_path / "one.pdf", pages=["Text.", ""])))
    assert document.warning == "1 of 2 pages has no text (blank, or a picture without words) and was skipped: page 2."


def test_a_corpus_whose_embedding_model_cannot_be_loaded_fails_its_documents_plainly(corpus, upload, tmp_path):
    corpus.embedding_model = str(tmp_path / "no-such-model")
    corpus.save()
    document = ingested(upload(make_pdf(tmp_path / "a.pdf", pages=["Some text."])))
    assert document.status == Status.FAILED
    assert "could not load its embedding model" in document.error


def test_a_worker_that_was_taken_over_cannot_write_any_more(upload, five_page_pdf):
    document = upload(five_page_pdf)
    first = pipeline.claim(document.pk, task_id="first")
    Document.objects.filter(pk=document.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    second = pipeline.claim(document.pk, task_id="second")
    assert second is not None
    late_chunk = Chunk(document=first, ordinal=0, text="late", char_start=0, char_end=4, token_count=1)
    with pytest.raises(pipeline.DocumentGone):
        pipeline.update(first, new_chunks=[late_chunk], pages_done=3)
    assert document.chunks.count() == 0
    assert Document.objects.get(pk=document.pk).claim_token == second.claim_token


def test_a_title_set_by_a_person_is_kept(upload, tmp_path):
    document = upload(make_pdf(tmp_path / "a.pdf", pages=["Text."], title="Title from the PDF"))
    Document.objects.filter(pk=document.pk).update(title="Title a person chose")
    assert ingested(document).title == "Title a person chose"


def test_a_dead_workers_document_is_queued_again_only_if_that_worker_owned_it(upload, five_page_pdf, tmp_path):
    document = upload(five_page_pdf)
    pipeline.claim(document.pk, task_id="task-a")
    tasks.requeue_after_worker_loss(document.pk, task_id="task-b", timed_out=False)
    assert Document.objects.get(pk=document.pk).status == Status.PARSING  # task-b never had it
    tasks.requeue_after_worker_loss(document.pk, task_id="task-a", timed_out=False)
    assert Document.objects.get(pk=document.pk).status == Status.QUEUED


def test_a_task_killed_at_the_hard_time_limit_fails_its_document(upload, five_page_pdf):
    document = upload(five_page_pdf)
    pipeline.claim(document.pk, task_id="task-a")
    tasks.requeue_after_worker_loss(document.pk, task_id="task-a", timed_out=True)
    document.refresh_from_db()
    assert document.status == Status.FAILED
    assert "took longer than" in document.error


def test_a_file_with_the_same_text_as_a_document_of_the_corpus_is_refused_as_a_duplicate(upload, tmp_path):
    story = "To Sherlock Holmes she is always the woman. I have seldom heard him mention her under any other name."
    (tmp_path / "holmes.txt").write_text(story + "\n")
    (tmp_path / "holmes.html").write_text(f"<html><body><p>{story.upper()}</p>\n<p> </p></body></html>")
    first = ingested(upload(tmp_path / "holmes.txt"))
    assert first.status == Status.READY
    second = ingested(upload(tmp_path / "holmes.html"))
    assert second.status == Status.FAILED
    assert second.error == pipeline.SAME_TEXT.format(title="holmes")
    assert second.chunks.count() == 0
    # Once the first is gone, the other may come in.
    services.delete_document(first)
    assert second.can_retry
    assert services.retry_document(second)
    assert ingested(second).status == Status.READY
