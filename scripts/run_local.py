"""Starts the whole app for a local run: a broker, one Celery worker and the web server.

Ctrl-C stops all of them. `make run` calls this after installing and migrating. It is safe to reach by
accident: DEBUG stays off unless set, and the data folder is its owner's alone.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.broker import find_or_start_broker  # noqa: E402

ADDRESS = os.environ.get("RUN_ADDRESS", "127.0.0.1:8000")


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def make_private(data_dir: Path) -> None:
    """The data folder, the database and the secret key for their owner only, also when an older version
    made them readable to all; what is made from now on is private too (umask)."""
    os.umask(0o077)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for path in [*data_dir.glob("db.sqlite3*"), data_dir / "secret_key"]:
        if path.is_file():
            path.chmod(0o600)


def main() -> int:
    # `kill` (SIGTERM) stops everything too, not only Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    data_dir = Path(os.environ.get("DATA_DIR", ROOT / "data")).resolve()
    make_private(data_dir)
    broker = find_or_start_broker(redis_url=os.environ.get("REDIS_URL", ""), data_dir=data_dir)
    print(f"Broker: {broker.url} ({broker.how})", flush=True)
    # Plain HTTP on this machine: secure-only cookies would never come back, so HTTPS is off unless set.
    env = {"HTTPS": "0", **os.environ, "CELERY_BROKER_URL": broker.url, "PYTHONUNBUFFERED": "1"}
    concurrency = os.environ.get("WORKER_CONCURRENCY", "1")
    python = sys.executable
    worker = subprocess.Popen(
        [python, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--pool=prefork",
         f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    # --insecure: runserver serves the static files with DEBUG off too (nothing is collected for a local run).
    web = subprocess.Popen([python, "manage.py", "runserver", "--noreload", "--insecure", ADDRESS], cwd=ROOT, env=env)
    processes = [web, worker]
    print(f"\nOpen http://{ADDRESS}/ — press Ctrl-C to stop.\n", flush=True)
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        print("A process stopped; stopping the others.", flush=True)
    except (KeyboardInterrupt, SystemExit):
        print("\nStopping…", flush=True)
    finally:
        stop(processes)
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
