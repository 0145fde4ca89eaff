"""Finding the local model: a file, or a hub file fetched once and checked against the hub's SHA-256. The hub
is a small real HTTP server here, speaking the part of its protocol that downloads use."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qa import local_llm

CONTENT = b"GGUF" + bytes(range(256)) * 64
REPO, FILENAME = "acme/tiny-GGUF", "tiny-q4.gguf"


class FakeHub:
    """Serves one file at /{repo}/resolve/{revision}/{file}, with the headers huggingface_hub reads, and
    counts the downloads. published_sha256 is what it says the file's checksum is."""

    def __init__(self) -> None:
        self.published_sha256 = hashlib.sha256(CONTENT).hexdigest()
        self.downloads = 0
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def headers_for_file(self) -> bool:
                if not self.path.split("?")[0].endswith(f"/{REPO}/resolve/main/{FILENAME}"):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return False
                self.send_response(200)
                self.send_header("X-Repo-Commit", "a" * 40)
                self.send_header("X-Linked-Etag", f'"{hub.published_sha256}"')
                self.send_header("ETag", f'"{hub.published_sha256}"')
                self.send_header("X-Linked-Size", str(len(CONTENT)))
                self.send_header("Content-Length", str(len(CONTENT)))
                self.end_headers()
                return True

            def do_HEAD(self) -> None:
                self.headers_for_file()

            def do_GET(self) -> None:
                if self.headers_for_file():
                    hub.downloads += 1
                    self.wfile.write(CONTENT)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub():
    fake = FakeHub()
    yield fake
    fake.close()


def test_a_hub_model_is_fetched_once_checked_and_then_found_without_the_hub(hub, tmp_path):
    spec = f"{REPO}/{FILENAME}"
    path = local_llm.model_path(spec, tmp_path / "models", endpoint=hub.url)
    assert path.read_bytes() == CONTENT
    assert path.is_relative_to(tmp_path / "models")
    hub.close()  # offline from now on
    assert local_llm.model_path(spec, tmp_path / "models", endpoint=hub.url, fetch=False) == path
    assert local_llm.model_path(spec, tmp_path / "models", endpoint=hub.url) == path
    assert hub.downloads == 1


def test_a_fetched_model_whose_checksum_is_wrong_is_deleted_and_refused(hub, tmp_path):
    hub.published_sha256 = "0" * 64
    with pytest.raises(local_llm.LocalModelError, match="checksum is wrong"):
        local_llm.model_path(f"{REPO}/{FILENAME}", tmp_path / "models", endpoint=hub.url)
    assert not [p for p in (tmp_path / "models").rglob("*.gguf")]


def test_a_model_that_is_neither_a_file_nor_on_the_hub_is_refused_in_words(hub, tmp_path):
    with pytest.raises(local_llm.LocalModelError, match="could not be fetched"):
        local_llm.model_path(f"{REPO}/missing.gguf", tmp_path / "models", endpoint=hub.url)
    with pytest.raises(local_llm.LocalModelError, match="does not exist"):
        local_llm.model_path(str(tmp_path / "nowhere.gguf"), tmp_path / "models")
    with pytest.raises(local_llm.LocalModelError, match="neither a file nor a hub model"):
        local_llm.model_path("just-a-name.gguf", tmp_path / "models")
