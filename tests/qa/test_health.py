"""/healthz: the database, the broker, the index folder and the LLM server, checked for real."""

import pytest
from django.test import Client

from config.celery import app as celery_app
from testkit.fake_llm import refused_url

pytestmark = pytest.mark.django_db


def test_everything_up_is_ok(client, fake_llm):
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok"
    assert set(data["checks"]) == {"database", "broker", "index_dir", "llm"}
    assert all(check["ok"] for check in data["checks"].values())


def test_without_an_llm_server_configured_answers_are_extracted_and_all_is_ok(client, settings):
    settings.LLM_URL = ""
    data = client.get("/healthz").json()
    assert data["status"] == "ok"
    assert data["checks"]["llm"]["mode"] == "extracted"  # for anyone to see, without the detail


def test_with_an_llm_server_the_answer_mode_is_server(client, fake_llm):
    assert client.get("/healthz").json()["checks"]["llm"]["mode"] == "server"


def test_an_llm_server_that_is_down_makes_the_site_degraded_not_down(client, settings):
    settings.LLM_URL, settings.LLM_BACKEND = refused_url(), "tgi"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["llm"]["ok"] is False


def test_a_broker_that_does_not_answer_makes_the_site_down(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", refused_url().replace("http", "redis") + "/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["broker"]["ok"] is False


def test_an_index_folder_that_cannot_be_written_makes_the_site_down(client, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be")
    settings.INDEX_DIR = blocker / "indexes"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["index_dir"]["ok"] is False


def test_only_staff_see_why_a_check_failed(staff_client, settings):
    settings.LLM_URL, settings.LLM_BACKEND = refused_url(), "tgi"
    assert "detail" in staff_client.get("/healthz").json()["checks"]["llm"]
    assert "detail" not in Client().get("/healthz").json()["checks"]["llm"]
