"""Load: users asking at once through gunicorn (the web as deploy/ serves it), then again while uploads embed.

Usage: python bench/load.py [--users 50] [--seconds 60] [--warmup 60] [--uploads 20] [--llm none|fake]

What runs, all on loopback: PostgreSQL (a throwaway database, DATABASE_URL's server, default the local
one), Redis, one Celery worker, gunicorn with deploy/gunicorn.conf.py, and wrk (Debian's package) as the
load tool. The corpus is the 48 articles of SQuAD v1.1 dev (../shared/eval) as text documents; the
questions are SQuAD's, each user with an API token of their own, over POST /api/v1/ask. With
--llm fake the answers come from the fake TGI server of the tests, streaming a 40-token answer at 50 tokens
a second; with none (the default) they are extracted, as `make run` does without an LLM server.

LOAD_WEB_ENV='{"WEB_THREADS": "6"}' (JSON) sets extra environment variables of the web alone.

Printed: requests per second, latency p50/p95/p99 and errors as wrk saw them, and from the database the
retrieval part of each answer (Answer.retrieval_ms) and its wait for a turn on the CPU (Answer.waited_ms,
qa/admission.py); after a warm-up, first with the site idle but for the askers, then while --uploads
20-page PDFs, sent all at once, are parsed and embedded.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.documents import long_pages, make_pdf  # noqa: E402

SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "eval"
PORT = 8765
WEB_ENV = json.loads(os.environ.get("LOAD_WEB_ENV", "{}"))

SETUP = """
import json, os
from django.contrib.auth import get_user_model
from api import tokens
from ingestion import services
from ingestion.models import Membership
users = int(os.environ["LOAD_USERS"])
corpus = services.create_corpus(name="SQuAD articles")
keys = []
for n in range(users):
    user = get_user_model().objects.create_user(username=f"user{n}", password=None)
    role = Membership.Role.MANAGER if n == 0 else Membership.Role.READER
    Membership.objects.create(corpus=corpus, user=user, role=role)
    keys.append(tokens.create_token(user, "load")[1])
print(json.dumps({"slug": corpus.slug, "keys": keys}))
"""

LUA = """
local keys = {%(keys)s}
local questions = {%(questions)s}
local n = math.random(1, 1000)
request = function()
  n = n + 1
  local body = '{"question": ' .. questions[(n %% #questions) + 1] .. '}'
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. keys[(n %% #keys) + 1]}
  return wrk.format("POST", "/api/v1/ask", headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %%d, "seconds": %%f, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d, "p50": %%d, "p95": %%d, "p99": %%d, "max": %%d}\\n', summary.requests,
    summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def run(args: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, text=True, **kwargs)


def fresh_database(url: str) -> str:
    base, name = url.rsplit("/", 1)
    drop_database(url)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def drop_database(url: str) -> None:
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)


def wait_for_web(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer /healthz")


def squad() -> tuple[list[tuple[str, str]], list[str]]:
    data = json.loads((SHARED / "squad" / "dev-v1.1.json").read_text())["data"]
    articles = [(a["title"], "\n\n".join(p["context"] for p in a["paragraphs"])) for a in data]
    questions = [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
    return articles, questions


def upload(url: str, key: str, slug: str, paths: list[Path]) -> list[int]:
    files = [("files", (path.name, path.read_bytes())) for path in paths]
    response = requests.post(f"{url}/api/v1/corpora/{slug}/documents", files=files,
                             headers={"Authorization": f"Bearer {key}"}, timeout=300)  # fmt: skip
    response.raise_for_status()
    return [result["document"]["id"] for result in response.json()["results"]]


def statuses(url: str, key: str, ids: list[int]) -> list[str]:
    headers = {"Authorization": f"Bearer {key}"}
    return [requests.get(f"{url}/api/v1/documents/{pk}", headers=headers, timeout=30).json()["status"] for pk in ids]


def wait_ready(url: str, key: str, ids: list[int], timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(status in ("ready", "failed") for status in statuses(url, key, ids)):
            return time.monotonic() - started
        time.sleep(2)
    raise RuntimeError("the corpus was not ingested in time")


def wrk(url: str, script: Path, users: int, seconds: int) -> dict:
    result = subprocess.run(
        ["wrk", "-t2", f"-c{users}", f"-d{seconds}s", "--timeout", "60s", "-s", str(script), f"{url}/api/v1/ask"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRK "))
    return json.loads(line[4:])


def answer_timings(database_url: str, since: float, until: float) -> dict:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT retrieval_ms, coalesce(waited_ms, 0) FROM qa_answer WHERE created_at BETWEEN to_timestamp(%s) "
            "AND to_timestamp(%s) AND retrieval_ms IS NOT NULL",
            (since, until),
        ).fetchall()
    retrieval = np.array([r[0] for r in rows])
    waited = np.array([r[1] for r in rows])

    def percentile(values: np.ndarray, q: int) -> float | None:
        return float(np.percentile(values, q)) if len(values) else None

    return {
        "answers": len(rows),
        "retrieval_p50_ms": percentile(retrieval, 50),
        "retrieval_p95_ms": percentile(retrieval, 95),
        "waited_p50_ms": percentile(waited, 50),
        "waited_p95_ms": percentile(waited, 95),
    }


def report(name: str, load: dict, timings: dict) -> dict:
    errors = sum(load[k] for k in ("connect", "read", "write", "status", "timeout"))
    row = {
        "phase": name,
        "requests_per_s": round(load["requests"] / load["seconds"], 1),
        "p50_ms": round(load["p50"] / 1000),
        "p95_ms": round(load["p95"] / 1000),
        "p99_ms": round(load["p99"] / 1000),
        "errors": errors,
        "retrieval_p50_ms": round(timings["retrieval_p50_ms"] or 0, 1),
        "retrieval_p95_ms": round(timings["retrieval_p95_ms"] or 0, 1),
        "waited_p50_ms": round(timings["waited_p50_ms"] or 0, 1),
        "waited_p95_ms": round(timings["waited_p95_ms"] or 0, 1),
        "answers_stored": timings["answers"],
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=60, help="seconds of asking before the measured phases")
    parser.add_argument("--llm", choices=["none", "fake"], default="none")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    if not (SHARED / "squad").exists():
        sys.exit(f"{SHARED / 'squad'} is needed for the corpus and questions")

    work = Path(tempfile.mkdtemp(prefix="docqa-load-"))
    database_url = fresh_database(os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/docqa_load"))
    env = {
        **os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(work / "data"), "DEBUG": "0", "HTTPS": "0",
        "SECRET_KEY": uuid.uuid4().hex * 2, "ALLOWED_HOSTS": "127.0.0.1", "ASK_LIMIT_PER_MINUTE": "0",
        "CELERY_TASK_DEFAULT_QUEUE": f"load-{uuid.uuid4().hex[:8]}", "LOG_LEVEL": "WARNING",
        "WEB_BIND": f"127.0.0.1:{PORT}", "LLM_URL": "",
    }  # fmt: skip
    fake = None
    if args.llm == "fake":
        from testkit.fake_llm import FakeLLM

        fake = FakeLLM().__enter__()
        fake.answer = " ".join(["The answer is in the passage [1]."] * 5)
        fake.token_delay = 0.02
        env |= {"LLM_URL": fake.url, "LLM_BACKEND": "tgi"}
    url = f"http://127.0.0.1:{PORT}"
    processes = []
    try:
        run([sys.executable, "manage.py", "migrate", "--noinput"], env)
        setup = json.loads(
            run(
                [sys.executable, "manage.py", "shell", "-c", SETUP], env | {"LOAD_USERS": str(args.users)}
            ).stdout.splitlines()[-1]
        )
        processes.append(start([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
                                "--concurrency=1", "--loglevel=WARNING"], env, work / "worker.log"))  # fmt: skip
        processes.append(start([sys.executable, "-m", "gunicorn", "config.wsgi:application", "--config",
                                "deploy/gunicorn.conf.py"], env | WEB_ENV, work / "web.log"))  # fmt: skip
        wait_for_web(url)
        web_env = env | WEB_ENV
        print(f"gunicorn: {web_env.get('WEB_WORKERS', '2')} workers x {web_env.get('WEB_THREADS', '16')} threads; "
              f"{args.users} users; {args.seconds} s per phase; answers: {args.llm}", flush=True)  # fmt: skip

        articles, questions = squad()
        folder = work / "squad"
        folder.mkdir()
        paths = []
        for number, (title, text) in enumerate(articles):
            path = folder / f"{number:02d}-{title[:40]}.txt"
            path.write_text(text)
            paths.append(path)
        manager = setup["keys"][0]
        ids = [pk for start_at in range(0, len(paths), 10)
               for pk in upload(url, manager, setup["slug"], paths[start_at:start_at + 10])]  # fmt: skip
        took = wait_ready(url, manager, ids, timeout=1800)
        print(f"corpus: {len(ids)} SQuAD articles ingested in {took:.0f} s", flush=True)

        script = work / "ask.lua"
        script.write_text(LUA % {
            "keys": ", ".join(f'"{key}"' for key in setup["keys"]),
            "questions": ", ".join(f"[==[{json.dumps(q)}]==]" for q in questions[:2000]),
        })  # fmt: skip
        rows = []
        # The first minute fills each web process' cache of sentence vectors (and loads the model in each).
        started = time.time()
        load = wrk(url, script, args.users, args.warmup)
        report("warming up (cold caches)", load, answer_timings(database_url, started, time.time()))
        started = time.time()
        load = wrk(url, script, args.users, args.seconds)
        rows.append(report("asking", load, answer_timings(database_url, started, time.time())))

        pdfs = [make_pdf(work / f"upload-{n}.pdf", pages=long_pages(20)) for n in range(args.uploads)]
        for n, pdf in enumerate(pdfs):  # each a different file, or they would be duplicates
            pdf.write_bytes(pdf.read_bytes() + f"\n% {n}\n".encode())
        sent: list[int] = []
        uploaders = [threading.Thread(target=lambda p=p: sent.extend(upload(url, manager, setup["slug"], [p])))
                     for p in pdfs]  # fmt: skip
        started = time.time()
        for thread in uploaders:
            thread.start()
        load = wrk(url, script, args.users, args.seconds)
        rows.append(report(f"asking while {args.uploads} uploads embed", load,
                           answer_timings(database_url, started, time.time())))  # fmt: skip
        for thread in uploaders:
            thread.join()
        done = statuses(url, manager, sent)
        busy = sum(status in ("queued", "parsing", "embedding") for status in done)
        print(f"uploads: {len(sent)} sent; after the phase {done.count('ready')} ready, {busy} still in progress")
        ratio = rows[1]["p95_ms"] / max(rows[0]["p95_ms"], 1)
        print(f"p95 while uploads embed / p95 idle: {ratio:.2f}", flush=True)
    finally:
        for process in reversed(processes):
            stop(process)
        if fake:
            fake.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)
        drop_database(database_url)


if __name__ == "__main__":
    main()
