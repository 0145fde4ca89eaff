"""The WSGI entry point (gunicorn, runserver): the app, and its warm-up as the process starts."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from qa import warmup  # noqa: E402  (needs the app set up)

warmup.start()
