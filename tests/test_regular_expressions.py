"""No regular expression of ours can backtrack without bound on what a user sends.

Every pattern is compiled at module level (so this file finds them all) and searched through 100 KB
inputs built from its own pieces: each literal run, character and character class it names, pumped
after each of its literal runs, the way backtracking blow-ups are found by hand."""

import ast
import importlib
import re
from pathlib import Path

import pytest

from .budget import OverBudget, cpu_budget

try:
    from re import _constants as sre
    from re import _parser as sre_parse
except ImportError:  # Python before 3.11
    import sre_constants as sre  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ingestion", "qa", "api", "config")
SEARCH_FUNCTIONS = {"search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}
SIZE = 100_000
# A linear search through 100 KB takes a few milliseconds; a quadratic one, minutes.
BUDGET_SECONDS = 0.5
# What a character class stands for when it is pumped.
CATEGORY_SAMPLES = {
    sre.CATEGORY_SPACE: " \n\t",
    sre.CATEGORY_NOT_SPACE: "a!",
    sre.CATEGORY_DIGIT: "1",
    sre.CATEGORY_NOT_DIGIT: "a ",
    sre.CATEGORY_WORD: "a_1",
    sre.CATEGORY_NOT_WORD: " !",
}
# A pattern from before this test existed, which froze a web process (the old HTML_START).
KNOWN_EXPONENTIAL = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title)\b",
    re.IGNORECASE | re.DOTALL,
)
# And one that held a worker for an hour (the old Markdown title).
KNOWN_CUBIC = re.compile(r"^# +(.+?)\s*#*\s*$", re.MULTILINE)


def our_sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and "management" not in path.parts
    )


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def our_patterns() -> list[tuple[str, re.Pattern]]:
    found = {}
    for path in our_sources():
        module = importlib.import_module(module_name(path))
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found[value] = f"{module.__name__}.{name}"
    return sorted(((name, pattern) for pattern, name in found.items()), key=lambda item: item[0])


def pattern_pieces(pattern: re.Pattern) -> tuple[set[str], set[str]]:
    """The characters and the literal runs (two characters or more) a pattern names."""
    characters: set[str] = set()
    runs: set[str] = set()

    def walk(items) -> None:
        run: list[str] = []
        for op, argument in items:
            if op is sre.LITERAL:
                run.append(chr(argument))
                characters.add(chr(argument))
                continue
            if len(run) > 1:
                runs.add("".join(run))
            run = []
            if op is sre.IN:
                for member_op, member in argument:
                    if member_op is sre.LITERAL:
                        characters.add(chr(member))
                    elif member_op is sre.RANGE:
                        characters.update((chr(member[0]), chr(member[1])))
                    elif member_op is sre.CATEGORY:
                        characters.update(CATEGORY_SAMPLES.get(member, ""))
            elif op is sre.CATEGORY:
                characters.update(CATEGORY_SAMPLES.get(argument, ""))
            elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
                walk(argument[2])
            elif op is sre.SUBPATTERN:
                walk(argument[-1])
            elif op is sre.BRANCH:
                for alternative in argument[1]:
                    walk(alternative)
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                walk(argument[1])
            elif op in (sre.ANY, sre.NOT_LITERAL):
                characters.add("a")
        if len(run) > 1:
            runs.add("".join(run))

    source = pattern.pattern.decode("latin-1") if isinstance(pattern.pattern, bytes) else pattern.pattern
    walk(sre_parse.parse(source, pattern.flags & re.VERBOSE))
    return characters | {" ", "a", "1", "\n"}, runs


def adversarial_inputs(pattern: re.Pattern) -> list[tuple[str, str]]:
    """(prefix, pump) pairs; the input is the prefix, then the pump repeated to SIZE, then a stray byte.

    A prefix is one of the pattern's literal runs or characters, alone or followed by a word: "# a" then
    spaces is what the old Markdown title needed to start its cubic search."""
    characters, runs = pattern_pieces(pattern)
    pumps = characters | runs | {a + b for a in runs for b in runs} | {r + c for r in runs for c in characters}
    starts = runs | characters
    prefixes = {""} | starts | {start + " a" for start in starts}
    return [(prefix, pump) for prefix in sorted(prefixes) for pump in sorted(pumps)]


def slowest_input(pattern: re.Pattern) -> tuple[str, str] | None:
    """The first (prefix, pump) the pattern cannot search through within the budget, or None."""
    is_bytes = isinstance(pattern.pattern, bytes)
    for prefix, pump in adversarial_inputs(pattern):
        text = prefix + pump * (SIZE // len(pump)) + "\x00"
        subject = text.encode("utf-8") if is_bytes else text
        try:
            with cpu_budget(BUDGET_SECONDS):
                for _ in pattern.finditer(subject):
                    pass
        except OverBudget:
            return prefix, pump
    return None


def test_every_regular_expression_is_compiled_at_module_level():
    # Inline patterns (re.search(r"...", text)) would escape the adversarial search below.
    inline = []
    for path in our_sources():
        tree = ast.parse(path.read_text())
        top_level = {id(node) for statement in tree.body for node in ast.walk(statement)}
        functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
        in_functions = {id(node) for function in functions for node in ast.walk(function)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "re"):
                continue
            is_search = node.func.attr in SEARCH_FUNCTIONS
            is_local_compile = node.func.attr == "compile" and id(node) in in_functions
            if is_search or is_local_compile or id(node) not in top_level:
                inline.append(f"{path.relative_to(ROOT)}:{node.lineno} re.{node.func.attr}")
    assert not inline


def test_the_search_finds_patterns_known_to_backtrack():
    assert slowest_input(KNOWN_EXPONENTIAL) is not None
    assert slowest_input(KNOWN_CUBIC) is not None


@pytest.mark.parametrize(("name", "pattern"), our_patterns(), ids=[name for name, _ in our_patterns()])
def test_pattern_searches_100_kb_of_adversarial_input_within_budget(name: str, pattern: re.Pattern):
    assert slowest_input(pattern) is None
