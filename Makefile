# tconv: two commands do all set-up on a fresh machine.
#   make demo   the seed article's examples, `tconv shape/plan/inverse` demos, and the main job:
#               upscaling a held-out photo with the shipped model (figure in out/)
#   make test   the whole suite: ruff (lint + format), mypy, pytest (tests + doctests)
# Each creates .venv when missing and installs what it needs, once: a stamp file per target
# is rebuilt only when pyproject.toml changes.
#
# torch is pinned (TORCH) and installed first, and stays on every later pip command line, so
# pip never swaps it for an unpinned (multi-GB CUDA) build.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
PIP := $(BIN)/python -m pip install --quiet
TCONV_HYPOTHESIS ?= default

.PHONY: demo test test-thorough bench clean docs dist sr-data

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-demo: pyproject.toml | $(BIN)/python
	$(PIP) $(TORCH)
	$(PIP) $(TORCH) -e '.[plots,train]'
	touch $@

# the page test drives Debian's chromium through its chromedriver (installed as root when missing)
$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "installing chromium and chromium-driver (for tests/test_viz_page.py)"; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver; \
	fi
	$(PIP) $(TORCH)
	$(PIP) $(TORCH) -e '.[dev,plots,interop,train,image,release,docs,models,architectures]'
	$(PIP) $(TORCH) --no-deps 'spandrel>=0.4'  # never its torchvision (tests/test_sr_thirdparty.py)
	touch $@

demo: $(VENV)/.stamp-demo
	@for script in examples/[0-9]*.py; do \
		echo "== $$script"; $(BIN)/python "$$script" || exit 1; echo; \
	done
	@echo "== tconv shape --input 16 16 --kernel 3 --stride 2 --padding 1 --output-padding 1"
	@$(BIN)/tconv shape --input 16 16 --kernel 3 --stride 2 --padding 1 --output-padding 1
	@echo; echo "== tconv plan 16x12 33x25 --kernel 3 4 --stride 2"
	@$(BIN)/tconv plan 16x12 33x25 --kernel 3 4 --stride 2
	@echo; echo "== tconv inverse --kernel 3 --stride 2 --padding 1 39 40"
	@$(BIN)/tconv inverse --kernel 3 --stride 2 --padding 1 39 40
	@echo; echo "== tconv explain: the seed examples drawn, and the interactive page, into out/"
	@$(BIN)/tconv explain --input 4 4 --kernel 2 --stride 2 --out out/seed-1 --no-gif --force
	@$(BIN)/tconv explain --input 16 --kernel 3 --stride 2 --padding 1 --output-padding 1 \
		--out out/seed-2 --no-gif --force
	@$(BIN)/tconv explain --input 4 --kernel 2 --stride 2 --out out/seed-3 --force
	@$(BIN)/tconv explain --html out/page.html --force
	@$(BIN)/tconv explain --input 5 --kernel 3 --stride 2 --padding 1 --output-padding 1
	@echo; echo "== the main job: upscale a held-out photo with the shipped model (examples/upscale_photo.py)"
	@$(BIN)/python examples/upscale_photo.py

test: $(VENV)/.stamp-test
	$(BIN)/ruff check src tests examples benchmarks docs
	$(BIN)/ruff format --check src tests examples benchmarks docs
	$(BIN)/mypy
	cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
		XDG_CACHE_HOME="$$cache" MPLBACKEND=Agg TCONV_HYPOTHESIS=$(TCONV_HYPOTHESIS) \
		$(BIN)/python -m pytest

test-thorough:
	$(MAKE) test TCONV_HYPOTHESIS=thorough

# the benchmark catalog -> docs/benchmarks.md + docs/figures/benchmarks.png (about 6 minutes
# on 2 cores; `tconv bench --quick` for a subset). Every speed comes from pairs timed back to
# back with torch, so a busy machine slows both sides alike; BENCH_THREADS=1 if the other core
# is taken by something that will not stop.
BENCH_THREADS ?= 2
BENCH_REPEAT ?= 15
bench: $(VENV)/.stamp-test
	mkdir -p docs/figures
	$(BIN)/tconv bench --threads $(BENCH_THREADS) --repeat $(BENCH_REPEAT) \
		--markdown docs/benchmarks.md --plot docs/figures/benchmarks.png --force

# The API reference site (mkdocs + material + mkdocstrings), strict: a broken reference fails.
# Output in site/ (ignored). tests/test_docs_site.py runs the same build inside `make test`.
docs: $(VENV)/.stamp-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# sdist and wheel in dist/, checked by twine (tests/test_wheel.py builds and installs them too).
dist: $(VENV)/.stamp-test
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

# The free photographs of Debian's mate-backgrounds and plasma-workspace-wallpapers (apt-get
# download + dpkg-deb -x, no root) into ~/.cache/tconv/sr-data (train/ and held_out/), for
# `tconv train sr --photos-dir ~/.cache/tconv/sr-data/train`; prints what it kept.
sr-data: $(VENV)/.stamp-demo
	$(BIN)/python -m tconv.train.photos

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis out
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
