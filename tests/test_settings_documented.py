import re

from .conftest import ROOT

READERS = re.compile(r'(?:env_(?:str|int|bool|list)|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]+)"')


def variables_read_by(*paths: str) -> set[str]:
    return {name for path in paths for name in READERS.findall((ROOT / path).read_text())}


def test_every_setting_is_in_the_env_example_and_the_readme():
    names = variables_read_by("config/settings.py", "scripts/run_local.py")
    assert "DATABASE_URL" in names  # the pattern finds them
    example = (ROOT / "deploy" / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    assert not [name for name in names if not re.search(rf"^#? ?{name}=", example, re.MULTILINE)]
    assert not [name for name in names if f"`{name}`" not in readme]
