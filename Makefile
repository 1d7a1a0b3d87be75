# The two commands of the README: `make demo` runs the main job, `make test` the tests.
.PHONY: setup demo test down bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/zunray demo

test:
	bash scripts/setup.sh --with-test-tools
	.venv/bin/python -m pytest -q

down:
	.venv/bin/zunray down

bench: setup
	.venv/bin/python benchmarks/job_overhead.py
