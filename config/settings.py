"""Settings, read from the environment. Every variable is listed in deploy/.env.example."""

import os
import secrets
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    return float(value) if value.strip() else default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in ("1", "true", "yes", "on")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# Off unless asked for: debug pages show settings, paths and every URL to whoever can reach the server.
DEBUG = env_bool("DEBUG", False)

# Uploads, indexes, the local database and the local secret key all live here.
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()
MEDIA_ROOT = DATA_DIR / "uploads"
INDEX_DIR = DATA_DIR / "indexes"


def make_data_dir() -> None:
    # Its owner's alone: it holds the database (sessions, every passage), the uploads and the secret key.
    DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


def read_secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    # Without one (a local run, or a host that forgot it): a random key made once and kept in DATA_DIR.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        make_data_dir()
        # Written whole under another name, then linked into place: two processes starting at once must
        # not read a half-written key, and the second one takes the first one's.
        draft = DATA_DIR / f".secret_key.{os.getpid()}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(50))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()


SECRET_KEY = read_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
# With DEBUG off the app is served over HTTPS (behind a proxy that sets X-Forwarded-Proto): cookies
# travel only over HTTPS and HSTS tells browsers to stay there. `make run` sets HTTPS=0: it serves plain HTTP.
HTTPS = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 3600 if HTTPS else 0)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ingestion",
    "qa",
    "ninja",
    "api",
    "axes",
]

MIDDLEWARE = [
    "config.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ingestion.middleware.UploadSizeLimit",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"


def read_databases() -> dict:
    url = env_str("DATABASE_URL")
    if url and not url.startswith("sqlite"):
        return {"default": dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
    make_data_dir()
    name = dj_database_url.parse(url)["NAME"] if url else DATA_DIR / "db.sqlite3"
    if name != ":memory:" and not Path(name).exists():
        # Made private before SQLite makes it (its -wal and -shm files take the same mode).
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT, 0o600))
    # The web server and the worker write to the same file: WAL and a busy
    # timeout keep them from failing with "database is locked".
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not memory, so that a test's Celery worker can open it too.
            "TEST": {"NAME": str(DATA_DIR / "test-db.sqlite3")},
        }
    }


DATABASES = read_databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: Django's hook for a changed password, which revokes the user's API tokens.
    {"NAME": "api.tokens.PasswordChangeEndsTokens"},
]
# django-axes counts wrong passwords (and unknown API tokens, in api/api.py) before Django checks one.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# After this many wrong passwords for one username from one address, that pair waits LOGIN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
# Username and address together: by username alone, anyone could lock anyone out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "api.lockout.lockout_response"
# Proxies in front of the web that append the client's address to X-Forwarded-For (1 behind Caddy or nginx):
# without it, every client behind a proxy has the proxy's address, and one client could lock out a username.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "ingestion:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic gathers the files WhiteNoise serves (the Docker image gathers them at build time).
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
# Local runs serve static files from the apps (runserver, DEBUG) and never collect them.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
MEDIA_URL = "media/"

# Uploads: files bigger than this are refused with a form error.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 100 * 1024 * 1024)
UPLOAD_MAX_FILES = env_int("UPLOAD_MAX_FILES", 20)
# Django refuses a request with more files than this before our form sees it;
# leave room above our own limit so the user gets our clearer message.
DATA_UPLOAD_MAX_NUMBER_FILES = UPLOAD_MAX_FILES * 5
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Embedding: empty means the bundled all-MiniLM-L6-v2; any sentence-transformers
# model name or local path works where the model can be loaded.
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "")
EMBEDDING_BACKEND = env_str("EMBEDDING_BACKEND", "torch")  # torch | onnx
EMBEDDING_DEVICE = env_str("EMBEDDING_DEVICE", "")  # empty: cuda when available, else cpu
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 32)
# After a re-embedding, the old vector index stays this long for searches that started before the swap.
REEMBED_KEEP_OLD_SECONDS = env_int("REEMBED_KEEP_OLD_SECONDS", 600)

# Chunking, in the embedder's own tokens; capped at what the model reads.
CHUNK_TOKENS = env_int("CHUNK_TOKENS", 200)
CHUNK_OVERLAP_TOKENS = env_int("CHUNK_OVERLAP_TOKENS", 30)
# And in characters: text without spaces is one token to the tokenizer, however long.
CHUNK_MAX_CHARS = env_int("CHUNK_MAX_CHARS", 2000)

# Ingestion
INGEST_PAGE_BATCH = env_int("INGEST_PAGE_BATCH", 16)
# Files are parsed in a child process of the worker with at most this much memory (address space, MB)
# and within the document's time limit; a file that needs more fails with a plain message.
PARSE_MEMORY_MB = env_int("PARSE_MEMORY_MB", 2048)
# Scanned pages are read (OCR) in a second child with its own cap: its models and threads take about 1.4 GB
# of address space (about 0.5 GB resident) before a page is read.
OCR_MEMORY_MB = env_int("OCR_MEMORY_MB", 4096)
# A Word file (a zip) whose members add up to more than this once unpacked is refused before it is read.
PARSE_MAX_UNPACKED_MB = env_int("PARSE_MAX_UNPACKED_MB", 512)
INGEST_TIME_LIMIT = env_int("INGEST_TIME_LIMIT", 3600)  # seconds per document
# A document whose worker has not reported progress for this long is taken over.
INGEST_STALE_AFTER = env_int("INGEST_STALE_AFTER", 300)
INGEST_MAX_ATTEMPTS = env_int("INGEST_MAX_ATTEMPTS", 3)
INGEST_SWEEP_INTERVAL = env_int("INGEST_SWEEP_INTERVAL", 60)  # seconds between sweeps for lost documents
# A queued document is sent again when the broker's queue is empty (a restarted Redis forgot it) this long after.
INGEST_REQUEUE_AFTER = env_int("INGEST_REQUEUE_AFTER", 30)
INDEX_LOCK_TIMEOUT = env_int("INDEX_LOCK_TIMEOUT", 600)
# A corpus index switches from exact search to IVF (searching INDEX_IVF_NPROBE lists) at this size.
INDEX_ANN_THRESHOLD = env_int("INDEX_ANN_THRESHOLD", 50_000)
INDEX_IVF_NPROBE = env_int("INDEX_IVF_NPROBE", 32)

# Retrieval: dense and keyword (BM25) results fused by reciprocal rank.
RETRIEVAL_TOP_K = env_int("RETRIEVAL_TOP_K", 8)
RETRIEVAL_CANDIDATES = env_int("RETRIEVAL_CANDIDATES", 50)  # from each retriever, before fusion
RETRIEVAL_KEYWORDS = env_bool("RETRIEVAL_KEYWORDS", True)
# Passages less similar than this (cosine, 0-1) to the question are not used; see the README.
RETRIEVAL_MIN_SCORE = env_float("RETRIEVAL_MIN_SCORE", 0.2)

# The address of this site as users reach it; links in prompts and command output use it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# The answer service. No LLM_URL: answers are extracted from the passages, not generated, unless
# `make run` starts a local model (LLM_BACKEND=local, qa/local_llm.py).
LLM_URL = env_str("LLM_URL", "")
LLM_BACKEND = env_str("LLM_BACKEND", "") or ("tgi" if LLM_URL else "extractive")  # tgi|openai|local|extractive
if LLM_BACKEND not in ("tgi", "openai", "local", "extractive"):
    raise ImproperlyConfigured(f"LLM_BACKEND must be tgi, openai, local or extractive, not {LLM_BACKEND!r}.")
# The local model (LLM_BACKEND=local): a .gguf file, or a hub repository and file ("owner/repo/file.gguf")
# fetched once into DATA_DIR/models; llama.cpp's server runs it on this port with this context size.
LOCAL_LLM_MODEL = env_str("LOCAL_LLM_MODEL", "")
LOCAL_LLM_PORT = env_int("LOCAL_LLM_PORT", 8088)
LOCAL_LLM_CONTEXT = env_int("LOCAL_LLM_CONTEXT", 8192)
if LLM_BACKEND == "local" and not LLM_URL:
    LLM_URL = f"http://127.0.0.1:{LOCAL_LLM_PORT}"
LLM_MODEL = env_str("LLM_MODEL", "")  # the model name an OpenAI-compatible server expects
LLM_API_KEY = env_str("LLM_API_KEY", "")
LLM_TEMPERATURE = env_float("LLM_TEMPERATURE", 0.1)
LLM_MAX_NEW_TOKENS = env_int("LLM_MAX_NEW_TOKENS", 512)
LLM_TIMEOUT = env_float("LLM_TIMEOUT", 60)  # seconds to connect, and between two streamed tokens
# The prompt budget when the server does not report its own (TGI's /info does).
# A local model on a CPU reads a prompt at a few hundred tokens a second (bench/local_llm.py): its budget is
# kept to about six passages, so that the first words come in seconds, not a minute.
LLM_MAX_INPUT_TOKENS = env_int(
    "LLM_MAX_INPUT_TOKENS", min(LOCAL_LLM_CONTEXT - LLM_MAX_NEW_TOKENS, 2048) if LLM_BACKEND == "local" else 7680
)
# A document's summary is asked for in around this many words ("Summarize the input in around 130 words."),
# at every step of the map-reduce; an extracted summary has one sentence per 20 of them.
SUMMARY_WORDS = env_int("SUMMARY_WORDS", 130)
# A citation is "verified" when the cited passage supports its sentence at least this much; see the README.
CITATION_SUPPORT_THRESHOLD = env_float("CITATION_SUPPORT_THRESHOLD", 0.65)
# Questions one user may ask in a minute (each holds a worker of the LLM server); 0: no limit.
ASK_LIMIT_PER_MINUTE = env_int("ASK_LIMIT_PER_MINUTE", 20)
# Answers one web process works on (retrieving, extracting, verifying citations) at once; the others
# wait their turn (qa/admission.py). Streaming from the LLM server takes no turn. 0: no limit.
ANSWER_CPU_SLOTS = env_int("ANSWER_CPU_SLOTS", 1)
# How far below the web's the CPU priority of the Celery workers' pool processes goes (a Linux nice
# value, 0-19): on a host they share, embedding uploads takes what answering questions leaves. 0: the same.
WORKER_NICENESS = env_int("WORKER_NICENESS", 10)

# Celery
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "docqa")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Each pool process loads the embedding model when it starts, which takes a few seconds.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 120
# An unacknowledged message is delivered again after this long, so it must
# outlast the longest document.
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": INGEST_TIME_LIMIT + 600}
if CELERY_BROKER_URL.startswith("filesystem://"):
    broker_folder = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(broker_folder / "queue"),
        "data_folder_out": str(broker_folder / "queue"),
        "processed_folder": str(broker_folder / "processed"),
        "control_folder": str(broker_folder / "control"),  # else kombu writes into the working directory
        "store_processed": False,
    }

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# text, or json: one object per line with the request id and document id, for a log collector
LOG_FORMAT = env_str("LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logs.ContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s doc=%(document_id)s]: %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # pypdf warns about every quirk of a malformed file; we report what matters.
        "pypdf": {"level": "ERROR"},
        "httpx": {"level": "WARNING"},
        # django-axes logs every check at INFO; its failures and lockouts are WARNING.
        "axes": {"level": "WARNING"},
    },
}
