import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from ingestion import corpus_index, services
from ingestion.models import Corpus, Document
from ingestion.tasks import ingest
from qa.retrieval import retrieve
from testkit.documents import TOPIC_PAGES, long_pages, make_pdf

from ..conftest import wait_until_settled


def test_ingest_with_create_makes_the_corpus_and_stores_every_file_of_a_folder(tmp_path, capsys, db):
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    make_pdf(folder / "a.pdf", pages=["First file."])
    (folder / "sub" / "b.md").write_text("# B\n\nSecond file.")
    (folder / ".hidden").write_text("not this one")
    call_command("ingest", str(folder), corpus="inbox", create=True)
    corpus = Corpus.objects.get(slug="inbox")
    assert sorted(corpus.documents.values_list("original_name", flat=True)) == ["a.pdf", "b.md"]
    assert "a.pdf: queued" in capsys.readouterr().out


def test_ingest_into_a_missing_corpus_without_create_is_an_error(tmp_path, db):
    make_pdf(tmp_path / "a.pdf", pages=["x"])
    with pytest.raises(CommandError, match="Add --create"):
        call_command("ingest", str(tmp_path / "a.pdf"), corpus="nope")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_ingest_wait_returns_when_all_are_done_and_prints_each_status(celery_worker, tmp_path, capsys):
    good = make_pdf(tmp_path / "good.pdf", pages=["A short and readable page."])
    blank = make_pdf(tmp_path / "blank.pdf", pages=[""])
    with pytest.raises(CommandError, match="1 of 2 documents failed"):
        call_command("ingest", str(good), str(blank), corpus="waiting", create=True, wait=True, timeout=120)
    out = capsys.readouterr().out
    assert "good.pdf: ready" in out
    assert "blank.pdf: failed (No text could be found" in out


def test_rebuild_index_reproduces_identical_search_results(tmp_path, db):
    corpus = Corpus.objects.create(name="Rebuild", slug="rebuild")
    other = Corpus.objects.create(name="Other", slug="other")

    for name, pages, target in [("topics.pdf", TOPIC_PAGES, corpus), ("long.pdf", long_pages(4), corpus),
                                ("other.pdf", ["Unrelated."], other)]:  # fmt: skip
        with open(make_pdf(tmp_path / name, pages=pages), "rb") as f:
            ingest(services.accept_upload(file=f, name=name, corpus=target).document.pk)
    queries = ["longest migration of any animal", "wild yeast in bread", "bus route to the hospital", "chess"]

    def results():
        found = [retrieve(q, [corpus], k=8, use_keywords=False, min_score=-1).passages for q in queries]
        return [[(passage.chunk.pk, passage.dense_rank, round(passage.score, 6)) for passage in p] for p in found]

    before = results()
    store = corpus_index.store_for(corpus.pk)
    store.index_path.unlink()
    assert results() == [[] for _ in queries]
    call_command("rebuild_index", corpus="rebuild")
    assert results() == before
    assert store.meta()["count"] == sum(d.chunks.count() for d in corpus.documents.all())
    assert store.meta()["model"] == corpus.embedding_model


def test_rebuild_index_leaves_out_documents_that_are_not_ready(tmp_path, db):
    corpus = Corpus.objects.create(name="Partial", slug="partial")
    with open(make_pdf(tmp_path / "a.pdf", pages=["Ready text."]), "rb") as f:
        document = services.accept_upload(file=f, name="a.pdf", corpus=corpus).document
    ingest(document.pk)
    Document.objects.filter(pk=document.pk).update(status=Document.Status.EMBEDDING)
    call_command("rebuild_index")
    assert not corpus_index.store_for(corpus.pk).exists()


def test_ensure_admin_creates_one_admin_and_prints_the_password_once(capsys, db):
    call_command("ensure_admin")
    first = capsys.readouterr().out
    call_command("ensure_admin")
    assert "password:" in first
    assert capsys.readouterr().out == ""
    admin = get_user_model().objects.get(is_superuser=True)
    password = first.split("password:")[1].split()[0]
    assert admin.check_password(password)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_admin_rebuilds_an_index_through_a_worker(celery_worker, admin_client, tmp_path):
    corpus = Corpus.objects.create(name="From admin", slug="from-admin")
    with open(make_pdf(tmp_path / "a.pdf", pages=TOPIC_PAGES), "rb") as f:
        document = services.accept_upload(file=f, name="a.pdf", corpus=corpus).document
    (document,) = wait_until_settled([document.pk])
    store = corpus_index.store_for(corpus.pk)
    store.index_path.unlink()
    response = admin_client.post(
        reverse("admin:ingestion_corpus_changelist"), {"action": "rebuild_index", "_selected_action": [corpus.pk]}
    )
    assert response.status_code == 302
    deadline = time.monotonic() + 60
    while not store.exists():
        assert time.monotonic() < deadline, celery_worker.log()[-2000:]
        time.sleep(0.2)
    assert store.meta()["count"] == document.chunks.count()
