"""What /healthz reports: whether the database, the broker, the index folder and the LLM server answer.

The site is "down" when it cannot serve anything (no database, no broker, no writable index folder) and
"degraded" when only the LLM server is unreachable: questions then get their passages and a message."""

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import redis
from django.conf import settings
from django.db import connection

from config.celery import app

from . import backends

LLM_TIMEOUT = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    ms: float
    essential: bool = True  # False: when it fails, the site is degraded, not down
    shown: dict = field(default_factory=dict)  # what anyone may see besides ok and ms


def timed(name: str, probe: Callable[[], str], *, essential: bool = True) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = probe(), True
    except Exception as exc:
        detail, ok = f"{type(exc).__name__}: {exc}"[:300], False
    return Check(name, ok, detail, round((time.perf_counter() - started) * 1000, 1), essential)


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_broker() -> str:
    url = app.conf.broker_url
    if url.startswith(("redis://", "rediss://")):
        # A PING, not Celery's connection: that one retries for seconds before it gives up.
        redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0).ping()
        return "redis"
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=1.0)
    return url.split(":", 1)[0]


def check_index_dir() -> str:
    settings.INDEX_DIR.mkdir(parents=True, exist_ok=True)
    # A real write: os.access says yes to root on a read-only mount.
    with tempfile.NamedTemporaryFile(dir=settings.INDEX_DIR, prefix=".healthz-"):
        pass
    free = os.statvfs(settings.INDEX_DIR)
    return f"{free.f_bavail * free.f_frsize // 2**20} MiB free"


def check_llm() -> str:
    backend = backends.backend()
    if backend is None:
        return "not configured: answers are extracted"
    backend.check_health(LLM_TIMEOUT)
    return backend.name


def run_checks() -> tuple[str, list[Check]]:
    """The overall status ("ok", "degraded" or "down") and each check."""
    checks = [
        timed("database", check_database),
        timed("broker", check_broker),
        timed("index_dir", check_index_dir),
        replace(timed("llm", check_llm, essential=False), shown={"mode": backends.answer_mode()}),
    ]
    if any(not c.ok and c.essential for c in checks):
        return "down", checks
    return ("degraded" if any(not c.ok for c in checks) else "ok"), checks
