import pytest

from config.broker import LOCAL_REDIS, find_or_start_broker, free_port, redis_answers


def test_redis_url_wins_when_it_is_set(tmp_path):
    broker = find_or_start_broker(redis_url="redis://elsewhere:6379/3", data_dir=tmp_path)
    assert broker.url == "redis://elsewhere:6379/3"


def test_a_redis_on_localhost_is_used_when_it_answers(tmp_path, broker_url):
    if not redis_answers(LOCAL_REDIS):
        pytest.skip("no Redis on 127.0.0.1:6379 here")
    assert find_or_start_broker(redis_url="", data_dir=tmp_path, local_url=LOCAL_REDIS).url == LOCAL_REDIS


def test_redis_server_is_started_when_none_answers(tmp_path):
    nothing_there = f"redis://127.0.0.1:{free_port()}/0"
    broker = find_or_start_broker(redis_url="", data_dir=tmp_path, local_url=nothing_there)
    try:
        assert broker.process is not None
        assert redis_answers(broker.url)
    finally:
        broker.stop()
    assert not redis_answers(broker.url)


def test_files_stand_in_when_there_is_no_redis_at_all(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server to be found
    nothing_there = f"redis://127.0.0.1:{free_port()}/0"
    broker = find_or_start_broker(redis_url="", data_dir=tmp_path, local_url=nothing_there)
    assert broker.url.startswith("filesystem://")
    assert "filesystem transport" in broker.how
    assert (tmp_path / "broker" / "queue").is_dir()
