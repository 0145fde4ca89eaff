"""A real Chromium (Debian's, driven by Playwright) against a live server, a real Celery worker
and the fake LLM server. Each test saves screenshots under test-artifacts/browser/."""

import os
from pathlib import Path

import pytest

from ingestion import services
from ingestion.models import Corpus, Document

from ..conftest import ARTIFACTS, wait_until_settled
from .slow_network import SlowUplink

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# No sandbox (CI runs as root); nothing that reaches the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--no-first-run",
]
SCREENSHOTS = ARTIFACTS / "browser"
PASSWORD = "pw-for-browser-tests"
TIMEOUT_MS = 30_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium); the browser tests need it."
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    # Playwright's sync API keeps an event loop in this thread; Django's ORM calls in the test body
    # (setting up rows, checking them) would otherwise be refused as if they were async code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Session:
    """One signed-in browser tab, with what it saw go wrong: script errors and dialogs."""

    def __init__(self, page, base_url: str, name: str) -> None:
        self.page = page
        self.base_url = base_url
        self.name = name
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.shots = 0
        self.watch(page)

    def watch(self, page) -> None:
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self.dismiss)

    def dismiss(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def screenshot(self, label: str, page=None, *, full_page: bool = True) -> Path:
        """Saves what the tab shows; full_page=False keeps to what is on screen."""
        self.shots += 1
        path = SCREENSHOTS / f"{self.name}-{self.shots:02d}-{label}.png"
        (page or self.page).screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="reader", password=PASSWORD, is_staff=True)


def make_session(browser, base_url: str, user, request, *, viewport: dict) -> Session:
    context = browser.new_context(viewport=viewport, accept_downloads=False)
    request.addfinalizer(context.close)
    page = context.new_page()
    session = Session(page, base_url, request.node.name.removeprefix("test_")[:60])
    session.open("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return session


def checked(tab: Session):
    yield tab
    assert not tab.dialogs, f"Dialogs fired: {tab.dialogs}"
    assert not tab.errors, f"Script errors: {tab.errors}"


@pytest.fixture
def session(browser, live_server, celery_worker, staff_user, request) -> Session:
    """A signed-in desktop-width tab; the test fails if a script error or a dialog happened in it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield from checked(make_session(browser, live_server.url, staff_user, request, viewport=DESKTOP))


@pytest.fixture
def slow_uplink_session(browser, live_server, celery_worker, staff_user, request) -> Session:
    """A signed-in tab whose uploads go at about 4 MB/s (the first few MB fill socket buffers at once)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    port = int(live_server.url.rsplit(":", 1)[1])
    with SlowUplink(port, bytes_per_second=4 * 1024 * 1024) as uplink:
        yield from checked(make_session(browser, uplink.url, staff_user, request, viewport=DESKTOP))


@pytest.fixture
def phone(browser, live_server, celery_worker, staff_user, request) -> Session:
    """A signed-in tab 390 pixels wide, as on a phone."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield from checked(make_session(browser, live_server.url, staff_user, request, viewport=PHONE))


@pytest.fixture
def ingested():
    """Stores files in a corpus through the real worker and waits until they are ready or failed."""

    def ingest(corpus: Corpus, *paths: Path) -> list[Document]:
        ids = []
        for path in paths:
            with open(path, "rb") as f:
                ids.append(services.accept_upload(file=f, name=path.name, corpus=corpus).document.pk)
        return wait_until_settled(ids)

    return ingest


def drop_files(page, selector: str, files: list[tuple[str, bytes, str]]) -> None:
    """Drops files on an element, as dragging them from the desktop does."""
    import base64

    encoded = [{"name": name, "data": base64.b64encode(data).decode(), "type": kind} for name, data, kind in files]
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name, { type: f.type }));
            }
            return transfer;
        }""",
        encoded,
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


# Records, in the page, every value the upload and processing progress bars and the status of each
# document row take, so a test can tell that they moved rather than only see where they ended.
RECORD_PROGRESS = """
window.__seen = { upload: [], rows: [] };
new MutationObserver(() => {
  document.querySelectorAll(".upload-item progress").forEach((bar) => {
    const last = window.__seen.upload[window.__seen.upload.length - 1];
    if (last !== bar.value) window.__seen.upload.push(bar.value);
  });
  document.querySelectorAll("#documents tr[data-status]").forEach((row) => {
    const bar = row.querySelector("progress");
    const state = row.dataset.status + (bar ? ":" + bar.value : "");
    const seen = window.__seen.rows;
    if (seen[seen.length - 1] !== state) seen.push(state);
  });
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["value", "data-status"] });
"""
