"""The layout's rules, checked on the source: no import circles among our modules (and none hidden inside
functions), a first line in every module saying what it holds, and task names that exist."""

import ast
from pathlib import Path

import pytest

from config.celery import app
from ingestion import dispatch

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "config", "ingestion", "qa")
# Benchmarks and scripts import our modules only once Django is set up, inside functions; they are not
# imported by anything.
SCRIPTS = ("testkit", "scripts", "bench")
OURS = {*PACKAGES, *SCRIPTS}


def modules(packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules of ours an import statement names (for `from x import y`, x.y where that is a module)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = module.split(".") if is_package else module.split(".")[:-1]
        if node.level:
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join([*base, node.module] if node.module else base)
        else:
            prefix = node.module or ""
        names = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
    return [name for name in names if name.split(".")[0] in OURS]


def imports_of(tree: ast.Module, module: str, is_package: bool, *, in_functions: bool) -> set[str]:
    """The modules of ours imported inside functions, or (in_functions=False) everywhere else."""
    found: set[str] = set()

    def walk(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom) and inside == in_functions:
                found.update(imported(child, module, is_package))
            walk(child, inside or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    walk(tree, False)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    edges = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text())
        names = imports_of(tree, module, path.name == "__init__.py", in_functions=False)
        edges[module] = {name for name in names if name in known and name != module}
    return edges


def test_no_module_of_ours_imports_another_of_ours_inside_a_function():
    # Such imports are how import circles were hidden; heavy third-party ones (torch, faiss) may stay lazy.
    found = []
    for module, path in modules().items():
        tree = ast.parse(path.read_text())
        found += [f"{module} imports {name}" for name in imports_of(tree, module, False, in_functions=True)]
    assert found == []


def test_our_modules_import_each_other_without_circles():
    edges = graph()
    circles, done, path = [], set(), []

    def visit(module: str) -> None:
        if module in path:
            circles.append(" -> ".join([*path[path.index(module) :], module]))
            return
        if module in done:
            return
        path.append(module)
        for name in sorted(edges[module]):
            visit(name)
        path.pop()
        done.add(module)

    for module in sorted(edges):
        visit(module)
    assert circles == []


def test_the_import_reader_sees_relative_and_hidden_imports():
    tree = ast.parse("from . import tasks\nfrom .services import enqueue\n")
    assert imports_of(tree, "ingestion.services", False, in_functions=False) == {
        "ingestion",
        "ingestion.tasks",
        "ingestion.services",
        "ingestion.services.enqueue",
    }
    tree = ast.parse("def f():\n    from .tasks import ingest\n")
    assert "ingestion.tasks" in imports_of(tree, "ingestion.services", False, in_functions=True)


@pytest.mark.parametrize("module", sorted(modules((*PACKAGES, *SCRIPTS))))
def test_each_module_starts_by_saying_what_it_holds(module):
    path = modules((*PACKAGES, *SCRIPTS))[module]
    source = path.read_text()
    if not source.strip():
        return  # an empty __init__.py
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring, f"{path.relative_to(ROOT)} has no docstring"
    assert source.startswith('"""'), f"{path.relative_to(ROOT)} does not start with its docstring"


def test_every_task_the_app_sends_is_one_the_workers_know():
    app.loader.import_default_modules()
    assert set(dispatch.TASKS) <= set(app.tasks)


def test_the_readmes_layout_lists_every_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("\n## Layout\n") :]
    missing = []
    for folder in (*PACKAGES, *SCRIPTS):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts or not path.read_text().strip():
                continue
            if f"`{path.relative_to(ROOT / folder)}`" not in layout.split(f"- `{folder}/`", 1)[1]:
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []
