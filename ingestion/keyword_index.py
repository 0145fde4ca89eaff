"""A keyword (BM25) index per corpus, with tantivy, kept in a folder beside the vector index.

Dense retrieval with a small model is weakest on names, numbers and rare terms; BM25 is
strongest there. Writers hold the corpus index lock (IndexStore.lock), so tantivy's own
one-writer rule is never hit. Readers keep one opened index per folder and reload it
when a commit has changed it.
"""

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .vector_index import Hit, LoadedOnChange

WORD = re.compile(r"\w+")
WRITER_HEAP_BYTES = 50_000_000
META_FILE = "meta.json"  # tantivy's own; it is replaced on every commit


def tantivy_module():
    import tantivy

    return tantivy


def build_schema() -> Any:
    tantivy = tantivy_module()
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("chunk", stored=True, indexed=True)
    builder.add_text_field("body", stored=False, tokenizer_name="en_stem")
    return builder.build()


def query_words(text: str) -> list[str]:
    """The words of a question, lowercased: user text never reaches tantivy's query syntax."""
    return WORD.findall(text.lower())


class KeywordIndex:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def exists(self) -> bool:
        return (self.directory / META_FILE).exists()

    def open(self) -> Any:
        tantivy = tantivy_module()
        self.directory.mkdir(parents=True, exist_ok=True)
        return tantivy.Index(build_schema(), path=str(self.directory), reuse=True)

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        """Adds (chunk id, text) pairs, replacing any entry an id already had; call with the lock held."""
        self.write(entries, replace_all=False)

    def rebuild(self, entries: Iterable[tuple[int, str]]) -> None:
        """Replaces every entry with the given ones; call with the lock held."""
        self.write(entries, replace_all=True)

    def remove(self, ids: Iterable[int]) -> None:
        """Removes chunk ids; call with the lock held. Ids that are not there are ignored."""
        ids = list(ids)
        if not ids or not self.exists():
            return
        writer = self.open().writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
        for chunk_id in ids:
            writer.delete_documents_by_term("chunk", int(chunk_id))
        self.commit(writer)

    def write(self, entries: Iterable[tuple[int, str]], *, replace_all: bool) -> None:
        tantivy = tantivy_module()
        writer = self.open().writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
        if replace_all:
            writer.delete_all_documents()
        for chunk_id, text in entries:
            if not replace_all:
                writer.delete_documents_by_term("chunk", int(chunk_id))
            writer.add_document(tantivy.Document(chunk=[int(chunk_id)], body=[text]))
        self.commit(writer)

    @staticmethod
    def commit(writer: Any) -> None:
        writer.commit()
        writer.wait_merging_threads()

    def count(self) -> int:
        """How many entries the index holds, as committed on disk."""
        return tantivy_module().Index.open(str(self.directory)).searcher().num_docs

    def search(self, text: str, k: int) -> list[Hit]:
        """The k chunks that best match the words of text by BM25, best first."""
        words = query_words(text)
        index = OPENED.get(self.directory / META_FILE)
        if index is None or not words:
            return []
        searcher = index.searcher()
        if searcher.num_docs == 0:
            return []
        query = index.parse_query(" ".join(words), ["body"])
        return [
            Hit(id=int(searcher.doc(address)["chunk"][0]), score=float(score))
            for score, address in searcher.search(query, k).hits
        ]


# Keyed by tantivy's meta.json, which every commit replaces; opened anew rather than reload()ed
# because a rebuild may have replaced the whole folder.
OPENED = LoadedOnChange(lambda meta: tantivy_module().Index.open(str(meta.parent)))
