"""Finds a message broker for local runs, or starts one: REDIS_URL, a local Redis, redis-server, or files."""

import logging
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger(__name__)

LOCAL_REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class Broker:
    url: str
    how: str  # a line for the log: where the broker came from
    process: subprocess.Popen | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    """True if a Redis server at this URL answers PING."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis_server(data_dir: Path, port: int | None = None) -> Broker | None:
    executable = shutil.which("redis-server")
    if not executable:
        return None
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [executable, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        if redis_answers(url):
            return Broker(url=url, how=f"started redis-server on port {port}", process=process)
        time.sleep(0.1)
    process.terminate()
    return None


def find_or_start_broker(*, redis_url: str, data_dir: Path, local_url: str = LOCAL_REDIS) -> Broker:
    """REDIS_URL when set; else a Redis on localhost; else a redis-server we start; else a folder of files."""
    if redis_url:
        return Broker(url=redis_url, how="REDIS_URL")
    if redis_answers(local_url):
        return Broker(url=local_url, how=f"found Redis at {local_url}")
    started = start_redis_server(data_dir / "redis")
    if started:
        return started
    folder = data_dir / "broker"
    for name in ("queue", "processed", "control"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return Broker(url="filesystem://localhost//", how=f"no Redis found: using kombu's filesystem transport in {folder}")
