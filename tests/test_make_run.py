"""`make run` from the repository: it migrates, creates the admin, serves pages and stops on Ctrl-C."""

import os
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import psutil
import pytest

from config.broker import free_port

from .conftest import ROOT


def get(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.worker
def test_make_run_serves_the_app_and_ctrl_c_stops_everything(tmp_path, broker_url):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")},
        "DATA_DIR": str(tmp_path / "data"),
        "RUN_ADDRESS": f"127.0.0.1:{port}",
        "REDIS_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": f"smoke-{uuid.uuid4().hex[:8]}",
    }
    log_path = tmp_path / "make-run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            output = log_path.read_text(errors="replace")
            if "ready." in output and "Open http://" in output:
                try:
                    status, page = get(f"http://127.0.0.1:{port}/accounts/login/")
                    break
                except OSError:
                    pass
            assert process.poll() is None, output[-3000:]
            assert time.monotonic() < deadline, output[-3000:]
            time.sleep(0.5)
        assert status == 200
        assert "Log in" in page
        assert "username: admin" in output
        assert (tmp_path / "data" / "db.sqlite3").exists()
        assert_safe_to_expose(f"http://127.0.0.1:{port}", tmp_path / "data")
        started = psutil.Process(process.pid).children(recursive=True)
        assert any("celery" in " ".join(child.cmdline()) for child in started)
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        process.wait(timeout=60)
    with pytest.raises(urllib.error.URLError):
        get(f"http://127.0.0.1:{port}/accounts/login/")
    psutil.wait_procs(started, timeout=30)
    assert not [child for child in started if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]


def assert_safe_to_expose(site: str, data_dir) -> None:
    """What an attacker who reached a `make run` found (issue 13): debug pages, and a world-readable data folder."""
    status, page = get(f"{site}/no-such-page/")
    assert status == 404
    assert "URLconf" not in page
    assert "accounts/login/" not in page
    status, page = get(f"{site}/accounts/login/", headers={"Host": "evil.example"})
    assert status == 400
    assert "REDIS_URL" not in page
    assert "DATA_DIR" not in page
    status, script = get(f"{site}/static/js/corpus.js")
    assert status == 200
    assert "function" in script
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in ("db.sqlite3", "secret_key"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
