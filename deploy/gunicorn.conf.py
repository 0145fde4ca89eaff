"""gunicorn for the DocQA web: threaded workers, because an answer streams for many seconds and holds its
thread while it does. Each worker process loads the embedding model and the indexes in the background as it
starts (never in the master: torch's threads do not survive a fork)."""

import os

# Many request threads share the cores; torch's own thread pool in each of them only adds contention
# (measured by bench/load.py: the retrieval part's median fell from 152 to 99 ms with one thread).
os.environ.setdefault("OMP_NUM_THREADS", "1")

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "16"))
# A streamed answer is written as it comes; a worker silent this long is stuck and restarted.
timeout = 120
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
# Behind the TLS proxy: X-Forwarded-* from it are trusted.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")


def post_worker_init(worker):
    # Each web process loads the models and indexes in the background as it starts (qa/warmup.py), so the
    # first questions after a start do not wait for them. Imported here: Django is set up by now.
    from qa import warmup

    warmup.start()
