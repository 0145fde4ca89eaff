"""The WSGI entry point (gunicorn, runserver); `make run`'s web process also warms up as it starts."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Set by scripts/run_local.py for its web server only (gunicorn's post_worker_init starts it in deploy/):
# importing this module elsewhere (a test, a shell) starts nothing.
if os.environ.get("WARM_UP_ON_START") == "1":
    from qa import warmup  # only now: it needs the app set up

    warmup.start()
