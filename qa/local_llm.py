"""The local LLM: finding its model (a file, or one fetched once from the hub and checked), and running
llama.cpp's OpenAI-compatible server on loopback as a child process that `make run` starts and stops.

Plain Python: scripts/run_local.py uses it before Django is set up.
"""

import contextlib
import hashlib
import importlib.util
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2
from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

# Qwen2.5-1.5B-Instruct, 4-bit: Apache-2.0, no login to download, about 1.1 GB; the README says why.
DEFAULT_MODEL = "Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf"
HUB_TIMEOUT_SECONDS = 10
READY_TIMEOUT_SECONDS = 180  # a multi-GB model read from a slow disk takes a while
CHECKED_SUFFIX = ".sha256"


class LocalModelError(Exception):
    """Why the local model cannot run, in plain words."""


@dataclass(frozen=True)
class HubFile:
    repo: str
    filename: str


def parse_spec(spec: str) -> Path | HubFile:
    """A model setting as a file path, or a hub repository and file ("owner/repo/file.gguf")."""
    path = Path(spec).expanduser()
    if path.is_file() or path.is_absolute() or spec.startswith("."):
        return path
    parts = spec.split("/")
    if len(parts) < 3 or not all(parts):
        raise LocalModelError(f"LOCAL_LLM_MODEL={spec!r} is neither a file nor a hub model (owner/repo/file.gguf).")
    return HubFile(repo="/".join(parts[:2]), filename="/".join(parts[2:]))


def is_installed() -> bool:
    """Whether llama.cpp's server package is installed (it builds from source, which can fail)."""
    return importlib.util.find_spec("llama_cpp") is not None


def model_path(spec: str, models_dir: Path, *, fetch: bool = True, endpoint: str | None = None) -> Path:
    """The .gguf file to serve: the file named, or the hub file in models_dir, fetched first if needed (from
    endpoint, a mirror of the hub; None: HF_ENDPOINT, else the hub itself)."""
    where = parse_spec(spec)
    if isinstance(where, Path):
        if not where.is_file():
            raise LocalModelError(f"The model file {where} does not exist.")
        return where
    local = models_dir / where.repo.replace("/", "--") / where.filename
    if local.is_file() and local.with_name(local.name + CHECKED_SUFFIX).is_file():
        return local
    if not fetch:
        raise LocalModelError(f"The model {spec} has not been fetched yet.")
    return fetch_from_hub(where, local.parent, endpoint=endpoint)


def fetch_from_hub(where: HubFile, folder: Path, *, endpoint: str | None = None) -> Path:
    """Downloads the file (with a progress bar; an interrupted download resumes) and checks its SHA-256
    against the one the hub publishes."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        url = hf_hub_url(where.repo, where.filename, endpoint=endpoint)
        metadata = get_hf_file_metadata(url, timeout=HUB_TIMEOUT_SECONDS)
        print(f"Fetching {where.repo}/{where.filename} ({(metadata.size or 0) / 2**30:.1f} GB) once…", flush=True)
        path = Path(
            hf_hub_download(
                where.repo, where.filename, local_dir=folder, etag_timeout=HUB_TIMEOUT_SECONDS, endpoint=endpoint
            )
        )
    except Exception as exc:
        raise LocalModelError(f"The model {where.repo}/{where.filename} could not be fetched: {exc}") from exc
    expected = (metadata.etag or "").strip('"')
    actual = sha256_of(path)
    if len(expected) == 64 and actual != expected:  # the hub's etag of a large file is its SHA-256
        path.unlink()
        raise LocalModelError(f"The fetched model {path.name} is damaged (its checksum is wrong); it was deleted.")
    path.with_name(path.name + CHECKED_SUFFIX).write_text(actual + "\n")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(2**20):
            digest.update(block)
    return digest.hexdigest()


def server_command(path: Path, *, port: int, context: int, threads: int | None = None) -> list[str]:
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", path.name,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context),
        # By default a request that arrives while an answer streams cuts that answer off, silently, as if
        # it were complete: a second question, or counting its tokens, must wait its turn instead.
        "--interrupt_requests", "False",
    ]  # fmt: skip
    if threads:
        command += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    return command


class LocalServer:
    """llama.cpp's server serving one model on loopback, as a child process."""

    def __init__(
        self, path: Path, *, port: int, context: int, threads: int | None = None, log_path: Path | None = None
    ) -> None:
        self.path = path
        self.url = f"http://127.0.0.1:{port}"
        self.command = server_command(path, port=port, context=context, threads=threads)
        self.log_path = log_path  # its output, appended; None: this process' own
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = READY_TIMEOUT_SECONDS) -> "LocalServer":
        """Starts the server and waits until it lists its model; raises LocalModelError if it does not."""
        if self.is_ready():
            # Another server (one left behind, say) would answer in its place.
            raise LocalModelError(f"Something already answers at {self.url}; set LOCAL_LLM_PORT to a free port.")
        log = self.log_path.open("ab") if self.log_path else None
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # its log is read while it runs
        with log or contextlib.nullcontext():
            self.process = subprocess.Popen(self.command, stdout=log, stderr=log and subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise LocalModelError(
                        f"The local model server stopped at start (exit code {self.process.returncode})."
                    )
                if self.is_ready():
                    return self
                time.sleep(0.3)
            raise LocalModelError(f"The local model server did not come up within {timeout:.0f} seconds.")
        except BaseException:
            self.stop()  # interrupted or failed: no server is left behind
            raise

    def is_ready(self) -> bool:
        try:
            return httpx2.get(self.url + "/v1/models", timeout=1.0).status_code == 200
        except httpx2.HTTPError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
