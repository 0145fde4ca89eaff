"""A FAISS vector index kept in one folder: the index file, its metadata, and a lock.

Ids are the caller's (chunk primary keys). One writer at a time across processes
(a file lock); every write goes to a temp file that replaces the old one, so a
reader never sees half an index. Readers keep what they loaded until the file changes.

Small indexes are exact (flat). Once an index reaches ann_threshold vectors it becomes
an inverted-file index (IVF), which searches a few lists instead of every vector and,
unlike HNSW, can still remove ids.
"""

import functools
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

INDEX_FILE = "index.faiss"
META_FILE = "meta.json"
LOCK_FILE = ".lock"


class IndexBusy(Exception):
    """Another process held the index lock for longer than we would wait."""


class IndexModelMismatch(Exception):
    """The index holds vectors of another embedding model."""


@dataclass(frozen=True)
class Hit:
    id: int
    score: float


def faiss_module():
    import faiss

    return faiss


def gpu_count() -> int:
    faiss = faiss_module()
    return faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0


class IndexStore:
    def __init__(
        self, directory: Path, *, lock_timeout: float = 600, ann_threshold: int = 50_000, nprobe: int = 32
    ) -> None:
        self.directory = Path(directory)
        self.index_path = self.directory / INDEX_FILE
        self.meta_path = self.directory / META_FILE
        self.lock_timeout = lock_timeout
        self.ann_threshold = ann_threshold
        self.nprobe = nprobe

    def exists(self) -> bool:
        return self.index_path.exists()

    def meta(self) -> dict:
        """The model name, dimension, vector count and version written beside the index."""
        try:
            return json.loads(self.meta_path.read_text())
        except FileNotFoundError:
            return {}

    @contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """Holds the writers' lock; the same process may take it again inside."""
        timeout = self.lock_timeout if timeout is None else timeout
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = file_lock(self.directory / LOCK_FILE)
        try:
            lock.acquire(timeout=timeout)
        except Timeout as exc:
            raise IndexBusy(f"The index in {self.directory} stayed locked for {timeout} s.") from exc
        try:
            yield
        finally:
            lock.release()

    def add(self, ids: np.ndarray, vectors: np.ndarray, *, model: str) -> None:
        """Adds vectors under ids, replacing any vectors those ids already had."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self.lock():
            index = self.read_for_writing(model=model, dimension=vectors.shape[1])
            # IndexIDMap2 would keep both copies of an id that is added twice.
            index.remove_ids(ids)
            index.add_with_ids(vectors, ids)
            self.write(self.sized(index), model=model)

    def remove(self, ids: Iterable[int], *, lock_timeout: float | None = None) -> None:
        ids = np.fromiter(ids, dtype=np.int64)
        if not len(ids) or not self.exists():
            return
        with self.lock(lock_timeout):
            index = faiss_module().read_index(str(self.index_path))
            if index.remove_ids(ids):
                self.write(index, model=self.meta().get("model", ""))

    def rebuild(self, batches: Iterable[tuple[np.ndarray, np.ndarray]], *, model: str) -> int:
        """Replaces the whole index with the given (ids, vectors) batches; returns the count.

        The batches are read with the lock held, so no writer's change falls between
        reading the source and replacing the index. No vectors at all means no index.
        """
        with self.lock():
            index = None
            for ids, vectors in batches:
                if index is None:
                    index = new_index(vectors.shape[1])
                index.add_with_ids(
                    np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64)
                )
            if index is None:
                self.index_path.unlink(missing_ok=True)
                self.meta_path.unlink(missing_ok=True)
                return 0
            self.write(self.sized(index), model=model)
        return index.ntotal

    def sized(self, index: Any) -> Any:
        """The index itself, or an IVF copy of a flat one that has grown past the threshold."""
        if index.ntotal < self.ann_threshold or is_ivf(index):
            return index
        return flat_to_ivf(index, nprobe=self.nprobe)

    def read_for_writing(self, *, model: str, dimension: int) -> Any:
        if not self.exists():
            return new_index(dimension)
        meta = self.meta()
        if meta.get("model") != model or meta.get("dimension") != dimension:
            raise IndexModelMismatch(
                f"The index holds {meta.get('model')!r} vectors ({meta.get('dimension')}-d), "
                f"not {model!r} ({dimension}-d). Rebuild it."
            )
        return faiss_module().read_index(str(self.index_path))

    def write(self, index: Any, *, model: str) -> None:
        """Writes the index and its metadata atomically; call with the lock held."""
        faiss = faiss_module()
        version = self.meta().get("version", 0) + 1
        tmp = self.index_path.with_suffix(".tmp")
        faiss.write_index(index, str(tmp))
        fsync_file(tmp)
        os.replace(tmp, self.index_path)
        meta = {
            "model": model,
            "dimension": index.d,
            "count": index.ntotal,
            "version": version,
            "kind": "ivf" if is_ivf(index) else "flat",
        }
        tmp_meta = self.meta_path.with_suffix(".tmp")
        tmp_meta.write_text(json.dumps(meta, indent=2))
        fsync_file(tmp_meta)
        os.replace(tmp_meta, self.meta_path)

    def delete(self) -> None:
        """Removes the index, and its folder unless something else (another index) lives there too."""
        with self.lock():
            self.index_path.unlink(missing_ok=True)
            self.meta_path.unlink(missing_ok=True)
        if {path.name for path in self.directory.iterdir()} <= {LOCK_FILE}:
            shutil.rmtree(self.directory, ignore_errors=True)

    def ids(self) -> np.ndarray:
        """Every id the index file holds (read from disk, not from what this process has loaded)."""
        faiss = faiss_module()
        index = faiss.read_index(str(self.index_path))
        if not is_ivf(index):
            return faiss.vector_to_array(index.id_map).astype(np.int64)
        lists = index.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(index.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        """The k best ids and inner-product scores for each query row."""
        index = LOADED.get(self.index_path)
        if index is None or index.ntotal == 0:
            return [[] for _ in range(len(queries))]
        params = faiss_module().SearchParametersIVF(nprobe=self.nprobe) if is_ivf(index) else None
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if gpu_count() > 0:
            with GPU_SEARCH:  # GPU indexes are not safe to search from two threads at once
                scores, ids = index.search(queries, min(k, index.ntotal))
        else:
            scores, ids = index.search(queries, min(k, index.ntotal), params=params)
        return [
            [Hit(id=int(i), score=float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i != -1]
            for row_ids, row_scores in zip(ids, scores, strict=True)
        ]


@functools.cache
def file_lock(path: Path) -> FileLock:
    # One lock object per path and process: a FileLock object is reentrant, two objects are not.
    return FileLock(path)


def new_index(dimension: int) -> Any:
    faiss = faiss_module()
    # Exact inner product on normalized vectors is cosine similarity; IDMap2 lets us remove ids.
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def is_ivf(index: Any) -> bool:
    return isinstance(index, faiss_module().IndexIVF)


def flat_to_ivf(index: Any, *, nprobe: int) -> Any:
    """An IVF index holding the same ids and vectors as a flat IndexIDMap2.

    IVF stores our ids itself: an IDMap over IVF would lose track of ids after a removal.
    """
    faiss = faiss_module()
    count, dimension = index.ntotal, index.d
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    vectors = index.index.reconstruct_n(0, count)
    # About 4 * sqrt(n) lists, trained on up to 64 vectors per list.
    nlist = max(16, int(4 * count**0.5))
    sample = vectors[np.random.default_rng(0).permutation(count)[: nlist * 64]]
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(sample)
    ivf.add_with_ids(vectors, ids)
    # Saved with the index, so a copy on the GPU (where search parameters differ) searches as many lists.
    ivf.nprobe = nprobe
    return ivf


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


class LoadedOnChange:
    """One loaded object per file and process, loaded again when the file is replaced.

    load(path) makes the object; the version is the file's inode and mtime, which os.replace
    (and tantivy's commit) change with every write.
    """

    def __init__(self, load: Callable[[Path], Any]) -> None:
        self.load = load
        self.loaded: dict[Path, tuple[tuple[int, int], Any]] = {}
        self.mutex = threading.Lock()

    def get(self, path: Path) -> Any | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            self.loaded.pop(path, None)
            return None
        version = (stat.st_ino, stat.st_mtime_ns)
        cached = self.loaded.get(path)
        if cached and cached[0] == version:
            return cached[1]
        with self.mutex:
            loaded = self.load(path)
            self.loaded[path] = (version, loaded)
        return loaded


def to_search_device(index: Any) -> Any:
    """Moves an index to the GPUs when faiss has any; otherwise returns it as it is."""
    if gpu_count() > 0:
        return faiss_module().index_cpu_to_all_gpus(index)
    return index


LOADED = LoadedOnChange(lambda path: to_search_device(faiss_module().read_index(str(path))))
GPU_SEARCH = threading.Lock()
