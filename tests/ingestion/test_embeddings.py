import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from ingestion import embeddings, priority

from ..conftest import ROOT


@pytest.fixture(scope="module")
def encoder() -> embeddings.Encoder:
    return embeddings.load_encoder(embeddings.BUNDLED_MODEL)


def test_bundled_model_loads_offline_and_gives_normalized_384_d_vectors(encoder):
    vectors = encoder.encode(["A first sentence.", "A second one."])
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_bundled_model_reads_254_word_pieces_besides_its_special_tokens(encoder):
    assert encoder.max_tokens == 254


def test_related_sentences_score_higher_than_unrelated_ones(encoder):
    query, related, unrelated = encoder.encode(
        ["How do birds migrate?", "Terns fly from pole to pole every year.", "The invoice is due on Friday."]
    )
    assert query @ related > query @ unrelated + 0.1


def test_the_model_is_loaded_once_per_process(encoder):
    assert embeddings.load_encoder(embeddings.BUNDLED_MODEL) is encoder


def test_an_empty_setting_means_the_bundled_model():
    assert embeddings.model_name("") == embeddings.BUNDLED_MODEL
    assert embeddings.model_name(" intfloat/e5-small ") == "intfloat/e5-small"


def test_a_model_that_cannot_be_loaded_says_so(tmp_path):
    with pytest.raises(embeddings.EncoderUnavailable, match="Could not load"):
        embeddings.load_encoder(str(tmp_path / "no-such-model"))


def test_the_web_path_does_not_import_torch_faiss_or_sentence_transformers():
    script = (
        "import sys, django; django.setup();"
        "from django.test import Client; import config.urls, ingestion.views, ingestion.admin, ingestion.tasks;"
        "Client().get('/');"
        "heavy = [m for m in ('torch', 'faiss', 'sentence_transformers', 'transformers') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_onnx_backend_agrees_with_torch_and_is_exported_once(encoder, tmp_path):
    onnx = embeddings.load_encoder(embeddings.BUNDLED_MODEL, backend="onnx", cache_dir=tmp_path)
    texts = [
        "Terns fly from pole to pole every year.",
        "Sourdough rises because wild yeast ferments the dough.",
        "The invoice is due on Friday, with a late fee after that.",
        "Copper conducts electricity because its outer electrons move freely.",
    ]
    cosines = np.sum(encoder.encode(texts) * onnx.encode(texts), axis=1)
    assert cosines.min() > 0.98
    assert onnx.max_tokens == encoder.max_tokens
    query = onnx.encode(["Which bird migrates farthest?"])
    assert int(np.argmax(onnx.encode(texts) @ query[0])) == 0
    assert len(list(tmp_path.glob("*/model_qint8.onnx"))) == 1


class CountingEncoder:
    """Stands in for a model: a text's vector is its length, and every text it is asked for is counted."""

    dimension = 1

    def __init__(self) -> None:
        self.asked: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.asked += texts
        return np.array([[float(len(text))] for text in texts], dtype=np.float32)


def test_a_cached_encoder_embeds_each_text_once_and_keeps_the_order_asked():
    model = CountingEncoder()
    cached = embeddings.CachedEncoder(model, size=10)
    assert cached.encode(["ab", "abc", "ab"]).ravel().tolist() == [2, 3, 2]
    assert cached.encode(["abc", "abcd"]).ravel().tolist() == [3, 4]
    assert model.asked == ["ab", "abc", "abcd"]
    assert cached.encode([]).shape == (0, 1)


def test_a_cached_encoder_forgets_the_least_recently_used_texts_beyond_its_size():
    model = CountingEncoder()
    cached = embeddings.CachedEncoder(model, size=2)
    cached.encode(["a", "bb"])
    cached.encode(["a"])  # now "bb" is the least recently used
    cached.encode(["ccc"])
    cached.encode(["a", "bb"])
    assert model.asked == ["a", "bb", "ccc", "bb"]


def own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice values per thread are Linux's")


@linux_only
def test_lowering_one_threads_priority_leaves_the_process_alone():
    before = own_niceness()
    seen = []
    thread = threading.Thread(target=lambda: (priority.lower_this_thread(3), seen.append(own_niceness())))
    thread.start()
    thread.join()
    assert seen == [min(19, before + 3)]
    assert own_niceness() == before
    priority.lower_this_thread(0)  # 0 changes nothing
    assert own_niceness() == before
