"""Classes and modules stay small: no class in the shipped packages defines more than 25 methods
and no module runs past 400 lines (CONVENTIONS.md: modules do one job; the issue-15 bar). A class past it does several jobs:
split it into parts it holds (as ``runner.Client`` holds ``client.functions``, ...), not into
mixins.

Methods are read with ``ast``: every ``def`` and ``async def`` in a class's own body, dunders,
properties and static methods included; a base class's methods count where they are defined.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("runner", "actors", "gateway", "policies")
MAX_METHODS = 25
MAX_LINES = 400  # a module past it holds several things: split it by what they are


def methods_of(source: str) -> dict[str, int]:
    """Class name (dotted when nested) -> how many methods its own body defines."""
    counts: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                name = f"{prefix}{child.name}"
                counts[name] = sum(
                    isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)) for b in child.body
                )
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return counts


def test_methods_are_counted_in_each_class_body():
    source = (
        "class A:\n"
        "    def a(self): ...\n"
        "    async def b(self): ...\n"
        "    @property\n"
        "    def c(self): ...\n"
        "    class Inner:\n"
        "        def d(self): ...\n"
        "def f():\n"
        "    class Local:\n"
        "        def e(self): ...\n"
    )
    assert methods_of(source) == {"A": 3, "A.Inner": 1, "Local": 1}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_class_has_more_than_25_methods(package):
    too_big = [
        f"{path.relative_to(ROOT)}: {name} has {count} methods"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name, count in methods_of(path.read_text()).items()
        if count > MAX_METHODS
    ]
    assert not too_big, "\n".join(too_big)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_longer_than_400_lines(package):
    too_long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in sorted((ROOT / package).rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert not too_long, "\n".join(too_long)
