"""Dependencies point one way: gateway -> actors -> runner -> policies.

A layer imports only itself and the layers below it, so each can be read, tested and
replaced without the ones above (the SDK does not drag in FastAPI; a placement policy
runs without Ray). ``benchmarks`` drive the whole system but never import ``tests``;
nothing shipped imports ``benchmarks`` or ``tests``. ``policies`` do no I/O: they are
functions over plain data that the layers above feed.

Imports are read with ``ast``, including those inside functions. A process started by
name (``runner/local/stack.py`` runs ``python -m gateway``) is not an import and is allowed:
the composition root starts the top layer as a separate program.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: what each top-level package may import of the project (besides itself)
ALLOWED = {
    "policies": set(),
    "runner": {"policies"},
    "actors": {"runner", "policies"},
    "gateway": {"actors", "runner", "policies"},
    "benchmarks": {"gateway", "actors", "runner", "policies"},
    "scripts": set(),
}
PROJECT = set(ALLOWED) | {"tests"}
#: modules through which a policy would reach files, processes, the network or the store
IO_MODULES = {
    "os",
    "io",
    "pathlib",
    "shutil",
    "subprocess",
    "socket",
    "tempfile",
    "sqlite3",
    "urllib",
    "http",
    "httpx",
    "requests",
    "sqlalchemy",
    "docker",
    "ray",
    "openstack",
    "fastapi",
}
IO_BUILTINS = {"open", "input", "print"}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in the module, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _upward(package: str) -> list[str]:
    bad = []
    for path in _modules(package):
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in PROJECT and top != package and top not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return bad


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_upward_imports(package):
    bad = _upward(package)
    assert not bad, (
        f"{package} may import only {sorted(ALLOWED[package]) or 'nothing'} of the project:\n"
        + "\n".join(bad)
    )


def test_policies_do_no_io():
    bad = []
    for path in _modules("policies"):
        tree = ast.parse(path.read_text(), filename=str(path))
        bad += [
            f"{path.relative_to(ROOT)}:{line} imports {name}"
            for line, name in _imports(path)
            if name.split(".")[0] in IO_MODULES
        ]
        bad += [
            f"{path.relative_to(ROOT)}:{node.lineno} calls {node.func.id}()"
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in IO_BUILTINS
        ]
        bad += [
            f"{path.relative_to(ROOT)}:{node.lineno} calls .{node.func.attr}()"
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"read_text", "read_bytes", "write_text", "write_bytes", "open"}
        ]
    assert not bad, (
        "policies are pure functions over plain data; the caller does the I/O:\n" + "\n".join(bad)
    )


def test_the_checker_sees_an_upward_import(tmp_path):
    """A checker that finds nothing must be able to find something."""
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from gateway.schemas import JobIn\n    import actors.bootstrap\n"
    )
    assert [name for _, name in _imports(module)] == ["gateway.schemas", "actors.bootstrap"]
