"""deploy/: the compose file is valid, every service is health-checked, and every variable is documented."""

import os
import re
import shutil
import subprocess

import pytest
import yaml

from .conftest import ROOT
from .test_settings_documented import variables_read_by

DEPLOY = ROOT / "deploy"
PROFILES = ["", "h100", "h100-fp8", "a6000", "vllm", "local"]
APP_SERVICES = {"migrate", "web", "worker"}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def example_names() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (DEPLOY / ".env.example").read_text(), re.MULTILINE))


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


@pytest.mark.parametrize("profile", PROFILES, ids=[p or "no-llm" for p in PROFILES])
def test_docker_compose_accepts_the_file_with_the_example_settings(tmp_path, profile):
    command = compose_command()
    if command is None:
        if os.environ.get("REQUIRE_COMPOSE"):
            pytest.fail("docker-compose is required here (.ci/run installs it) and is missing")
        pytest.skip("neither docker-compose nor the docker compose plugin is installed: the file is not validated")
    (tmp_path / "deploy").mkdir()
    shutil.copy(DEPLOY / "docker-compose.yml", tmp_path / "deploy")
    shutil.copy(DEPLOY / ".env.example", tmp_path / "deploy" / ".env")
    args = ["--profile", profile] if profile else []
    result = subprocess.run([*command, *args, "config"], cwd=tmp_path / "deploy", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    services = set(yaml.safe_load(result.stdout)["services"])
    assert {"web", "worker", "redis", "postgres", "migrate"} <= services


def test_every_long_running_service_has_a_health_check_and_a_restart_policy():
    services = compose()["services"]
    for name, service in services.items():
        if name == "migrate":
            continue
        assert "healthcheck" in service, f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", f"{name} is not restarted"


def test_the_web_and_workers_wait_for_the_migrations_and_the_migrations_for_the_database():
    services = compose()["services"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_every_variable_of_the_compose_file_and_of_gunicorn_is_in_the_env_example():
    text = (DEPLOY / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", text))
    used |= set(re.findall(r'environ\.get\("([A-Z][A-Z0-9_]+)"', (DEPLOY / "gunicorn.conf.py").read_text()))
    assert used - example_names() == set()


def test_every_setting_the_compose_file_gives_the_app_is_one_it_reads():
    reads = variables_read_by("config/settings.py") | set(
        re.findall(r'environ\.get\("([A-Z][A-Z0-9_]+)"', (DEPLOY / "gunicorn.conf.py").read_text())
    )
    services = compose()["services"]
    for name in APP_SERVICES:
        assert set(services[name]["environment"]) - reads == set(), name


def test_the_llm_servers_are_pinned_releases_that_answer_as_llm():
    services = compose()["services"]
    llm_servers = {name: s for name, s in services.items() if name.startswith(("tgi", "vllm", "llm-"))}
    assert set(llm_servers) == {"tgi-h100", "tgi-h100-fp8", "tgi-a6000", "vllm", "llm-local"}
    for name, service in llm_servers.items():
        # The local one runs from the app's own image, which pins llama-cpp-python.
        assert re.search(r":v?\d+\.\d+\.\d+$", service["image"]) or service["image"] == "docqa:latest", name
        assert "llm" in service["networks"]["default"]["aliases"]
    # One LLM server per profile, started only when its profile is chosen.
    assert sorted(p for s in llm_servers.values() for p in s["profiles"]) == sorted(filter(None, PROFILES))
    tgi = services["tgi-a6000"]
    assert tgi["shm_size"] == "1g"
    assert {"--max-input-tokens", "--max-total-tokens", "--num-shard"} <= set(tgi["command"])
    assert tgi["command"][tgi["command"].index("--num-shard") + 1] == "2"
