"""An int8 ONNX copy of a sentence-transformers model, run with onnxruntime.

sentence-transformers' own ONNX backend needs optimum, whose releases pin
transformers below 4.58 (and would drag it back). The same export is done here
with torch.onnx and onnxruntime's dynamic quantization, once per model, into a
cache folder; afterwards only onnxruntime runs.
"""

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock
from tokenizers import Tokenizer

MODEL_FILE = "model_qint8.onnx"
INFO_FILE = "info.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxUnsupported(Exception):
    """The model uses a part (pooling mode, inputs) this backend does not reproduce."""


class OnnxSentenceModel:
    """Answers the parts of SentenceTransformer that the Encoder uses; needs neither torch nor transformers."""

    def __init__(self, model_path: Path, tokenizer: Tokenizer, *, max_seq_length: int, pooling: str,
                 normalize: bool, dimension: int, pad_id: int, pad_token: str) -> None:  # fmt: skip
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.backend_tokenizer = tokenizer
        # A copy for the model's input: cut at what the model reads, padded to the batch's longest.
        self.input_tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self.input_tokenizer.enable_truncation(max_seq_length)
        self.input_tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
        self.max_seq_length = max_seq_length
        self.pooling = pooling
        self.normalize = normalize
        self.dimension = dimension

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def encode(self, texts: list[str], *, batch_size: int = 32, normalize_embeddings: bool = False,
               **ignored: Any) -> np.ndarray:  # fmt: skip
        # Like sentence-transformers: sort by length so each batch pads little, then restore the order.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self.encode_batch([texts[i] for i in rows])
        if normalize_embeddings or self.normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.input_tokenizer.encode_batch(texts)
        features = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        hidden = self.session.run(None, {name: features[name] for name in INPUTS if name in self.input_names})[0]
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = features["attention_mask"][..., None].astype(np.float32)
        return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)


def load_onnx_model(location: str, *, cache_dir: Path) -> OnnxSentenceModel:
    """Loads the int8 ONNX copy of a model, exporting it on first use."""
    target = Path(cache_dir) / (Path(location).name + "-" + hashlib.sha256(location.encode()).hexdigest()[:12])
    if not (target / MODEL_FILE).exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Several worker processes may start at once; one exports, the others wait for it.
        with FileLock(str(target) + ".lock"):
            if not (target / MODEL_FILE).exists():
                export_quantized(location, target)
    info = json.loads((target / INFO_FILE).read_text())
    return OnnxSentenceModel(
        target / MODEL_FILE,
        Tokenizer.from_file(str(target / "tokenizer.json")),
        max_seq_length=info["max_seq_length"],
        pooling=info["pooling"],
        normalize=info["normalize"],
        dimension=info["dimension"],
        pad_id=info["pad_id"],
        pad_token=info["pad_token"],
    )


def export_quantized(location: str, target: Path) -> None:
    """Exports a sentence-transformers model's transformer to int8 ONNX, with its tokenizer and pooling."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling

    model = SentenceTransformer(location, device="cpu")
    pooling = next((module for module in model if isinstance(module, Pooling)), None)
    if pooling is None or pooling.pooling_mode not in ("mean", "cls"):
        raise OnnxUnsupported("The ONNX backend reproduces mean or CLS pooling only.")
    transformer = model[0].auto_model.eval()
    features = model.tokenizer(["An example sentence.", "Another one"], padding=True, return_tensors="pt")
    names = [name for name in INPUTS if name in features]

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer  # a submodule, so its weights export as weights

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

    work = Path(tempfile.mkdtemp(dir=target.parent))
    try:
        axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
        # The TorchScript exporter (legacy, still in torch 2.13) warns about branches on shapes
        # that are fixed when there is no key-value cache; vectors match torch's (cosine 1.0 in fp32).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState().eval(), tuple(features[name] for name in names), str(work / "model.onnx"),
                input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                dynamo=False,
            )  # fmt: skip
        # Per-channel weights on the matrix products only: vectors keep a cosine of ~0.995 with
        # torch's, where the default per-tensor quantization fell to ~0.94 (measured on SciFact).
        quantize_dynamic(
            str(work / "model.onnx"), str(work / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True,
            op_types_to_quantize=["MatMul"],
        )  # fmt: skip
        (work / "model.onnx").unlink()
        model.tokenizer.save_pretrained(str(work))
        info = {
            "source": location,
            "pooling": pooling.pooling_mode,
            "normalize": any(isinstance(module, Normalize) for module in model),
            "max_seq_length": model.max_seq_length,
            "dimension": model.get_embedding_dimension(),
            "pad_id": model.tokenizer.pad_token_id,
            "pad_token": model.tokenizer.pad_token,
        }
        (work / INFO_FILE).write_text(json.dumps(info, indent=2))
        os.replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
