"""The plain FAISS store: adding, removing, locking, reloading, and growing from flat into IVF."""

import json
import multiprocessing

import numpy as np
import pytest

from ingestion.vector_index import LOADED, IndexBusy, IndexModelMismatch, IndexStore

DIM = 16
MODEL = "test-model"


def random_vectors(count: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def store(tmp_path) -> IndexStore:
    return IndexStore(tmp_path / "corpus-1", lock_timeout=30)


def test_search_finds_a_vector_under_the_id_it_was_added_with(store):
    vectors = random_vectors(50)
    store.add(np.arange(1000, 1050), vectors, model=MODEL)
    hits = store.search(vectors[[7, 21]], k=3)
    assert [row[0].id for row in hits] == [1007, 1021]
    assert hits[0][0].score == pytest.approx(1.0, abs=1e-5)


def test_adding_an_id_again_replaces_its_vector(store):
    first, second = random_vectors(2)
    store.add(np.array([5]), first[None], model=MODEL)
    store.add(np.array([5]), second[None], model=MODEL)
    assert store.meta()["count"] == 1
    assert store.search(second[None], k=5)[0][0].score == pytest.approx(1.0, abs=1e-5)


def test_removed_ids_are_no_longer_found(store):
    vectors = random_vectors(10)
    store.add(np.arange(10), vectors, model=MODEL)
    store.remove([3, 4, 999])
    found = {hit.id for hit in store.search(vectors, k=10)[0]}
    assert found == set(range(10)) - {3, 4}


def test_the_model_name_dimension_and_count_are_written_beside_the_index(store):
    store.add(np.arange(4), random_vectors(4), model=MODEL)
    meta = json.loads(store.meta_path.read_text())
    assert meta["model"] == MODEL
    assert meta["dimension"] == DIM
    assert meta["count"] == 4
    assert not list(store.directory.glob("*.tmp"))


def test_vectors_of_another_model_are_refused(store):
    store.add(np.arange(2), random_vectors(2), model=MODEL)
    with pytest.raises(IndexModelMismatch):
        store.add(np.arange(2, 4), random_vectors(2), model="other-model")


def test_a_reader_keeps_its_loaded_index_until_the_file_is_replaced(store):
    store.add(np.arange(3), random_vectors(3), model=MODEL)
    store.search(random_vectors(1), k=1)
    loaded = LOADED.get(store.index_path)
    assert LOADED.get(store.index_path) is loaded
    store.add(np.arange(3, 6), random_vectors(3, seed=1), model=MODEL)
    reloaded = LOADED.get(store.index_path)
    assert reloaded is not loaded
    assert reloaded.ntotal == 6


def test_rebuilding_gives_the_same_results_as_adding_piece_by_piece(store, tmp_path):
    vectors = random_vectors(300)
    ids = np.arange(300) * 3
    for start in range(0, 300, 70):
        store.add(ids[start : start + 70], vectors[start : start + 70], model=MODEL)
    queries = random_vectors(20, seed=9)
    before = store.search(queries, k=10)
    rebuilt = IndexStore(tmp_path / "rebuilt")
    count = rebuilt.rebuild([(ids[:150], vectors[:150]), (ids[150:], vectors[150:])], model=MODEL)
    assert count == 300
    assert rebuilt.search(queries, k=10) == before


def add_from_another_process(directory, worker: int) -> None:
    store = IndexStore(directory, lock_timeout=60)
    for batch in range(5):
        ids = np.arange(10) + worker * 1000 + batch * 10
        store.add(ids, random_vectors(10, seed=worker * 100 + batch), model=MODEL)


def test_writers_in_several_processes_lose_nothing(store):
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=add_from_another_process, args=(store.directory, w)) for w in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert store.meta()["count"] == 200
    assert store.meta()["version"] == 20


def test_rebuilding_from_nothing_leaves_no_index(store):
    store.add(np.arange(3), random_vectors(3), model=MODEL)
    assert store.rebuild([], model=MODEL) == 0
    assert not store.exists()
    assert store.search(random_vectors(1), k=3) == [[]]


def test_a_busy_lock_gives_up_after_its_timeout(store):
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=hold_lock, args=(store.directory, ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(IndexBusy), store.lock(timeout=0.2):
            pass
    finally:
        release.set()
        holder.join(timeout=60)
    with store.lock(timeout=5):
        pass  # free again once the holder let go


def hold_lock(directory, ready, release) -> None:
    with IndexStore(directory).lock():
        ready.set()
        release.wait(60)


def test_a_large_index_becomes_ivf_and_finds_what_exact_search_finds(tmp_path):
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((40, 384)).astype(np.float32)
    vectors = centres[rng.integers(0, 40, 4000)] + 0.3 * rng.standard_normal((4000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(10, 4010, dtype=np.int64)
    exact = IndexStore(tmp_path / "exact", ann_threshold=10**9)
    approximate = IndexStore(tmp_path / "ivf", ann_threshold=3000, nprobe=16)
    exact.add(ids, vectors, model="m")
    approximate.add(ids[:2000], vectors[:2000], model="m")
    assert approximate.meta()["kind"] == "flat"
    approximate.add(ids[2000:], vectors[2000:], model="m")
    assert approximate.meta()["kind"] == "ivf"
    queries = vectors[:50] + 0.1 * rng.standard_normal((50, 384)).astype(np.float32)
    found_exact = [{h.id for h in hits} for hits in exact.search(queries, 10)]
    found_ivf = [{h.id for h in hits} for hits in approximate.search(queries, 10)]
    recall = np.mean([len(a & b) / 10 for a, b in zip(found_exact, found_ivf, strict=True)])
    assert recall >= 0.95
    approximate.remove([10, 11])
    assert 10 not in {h.id for h in approximate.search(vectors[:1], 5)[0]}
    assert approximate.meta()["count"] == 3998
