import re

from .conftest import ROOT

READERS = re.compile(r'(?:env_(?:str|int|float|bool|list)|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]+)"')


def variables_read_by(*paths: str) -> set[str]:
    return {name for path in paths for name in READERS.findall((ROOT / path).read_text())}


def test_every_setting_is_in_the_env_example_and_the_readme():
    names = variables_read_by("config/settings.py", "scripts/run_local.py")
    assert "DATABASE_URL" in names  # the pattern finds them
    example = (ROOT / "deploy" / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    assert not [name for name in names if not re.search(rf"^#? ?{name}=", example, re.MULTILINE)]
    assert not [name for name in names if f"`{name}`" not in readme]


def test_with_debug_off_cookies_are_secure_and_the_proxys_https_is_trusted(tmp_path):
    import subprocess
    import sys

    env = {"DEBUG": "0", "SECRET_KEY": "x" * 50, "DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup();"
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_SECONDS)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')", "3600"]
