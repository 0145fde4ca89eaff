"""The Django admin's document deletion: everything of that document goes, nothing else."""

from pathlib import Path

from ingestion import corpus_index
from ingestion.models import Chunk, Document
from ingestion.tasks import ingest
from qa.retrieval import retrieve
from testkit.documents import make_pdf


def test_deleting_a_document_in_the_admin_removes_its_file_passages_and_index_entries_only(
    admin_client, field_notes, upload, tmp_path
):
    doomed = field_notes.documents.get()
    kept = upload(make_pdf(tmp_path / "penguins.pdf", pages=["Emperor penguins huddle through the Antarctic winter."]))
    ingest(kept.pk)
    doomed_chunks = list(doomed.chunks.values_list("pk", flat=True))
    doomed_file = Path(doomed.file.path)

    response = admin_client.post(f"/admin/ingestion/document/{doomed.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Document.objects.filter(pk=doomed.pk).exists()
    assert not doomed_file.exists()
    assert not Chunk.objects.filter(pk__in=doomed_chunks).exists()
    assert corpus_index.store_for(field_notes).meta()["count"] == kept.chunks.count()
    assert Path(Document.objects.get(pk=kept.pk).file.path).exists()
    assert (
        retrieve("Where do emperor penguins spend the winter?", [field_notes]).passages[0].chunk.document_id == kept.pk
    )
