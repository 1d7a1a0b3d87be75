"""The pure core and the domain models type-check (mypy, configured in pyproject.toml's
[tool.mypy]: policies/, runner/models.py, containers.py, functions/model.py, errors.py,
schemas.py). A field that may be None, a call with a missing argument or a function
without annotations there fails here, before it fails a user.

mypy keeps its cache in .mypy_cache: a run after a small change takes a few seconds,
a cold one (a fresh clone, as in CI) about 15 s of CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_and_models_type_check():
    done = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
