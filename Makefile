# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Pinned here so installs stay predictable; pyproject.toml keeps normal ranges for users.
TORCH_PIN := torch==2.14.1 torchvision==0.29.1
# PySide6 6.12.0 drops a reference to None on every model data() that returns None, which
# aborts the app on Python < 3.12; see pyproject.toml. Kept here too so an existing venv that
# has 6.12.0 is moved off it by the next set-up.
QT_PIN := 'PySide6-Essentials>=6.8,!=6.12.0'
# PyAV 18.1.1's wheel pads each of its four libxcb files to 6 MB (segments aligned to 2 MB;
# 0.03-0.3 MB in 18.1.0): 29 MB more in the app's bundle, over its 700 MB.
AV_PIN := av==18.1.0

.PHONY: setup run test test-long test-oldest test-models lint app app-gpu app-check clean bench bench-quick

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIN) $(QT_PIN) $(AV_PIN)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/snapseek-desktop

lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check core desktop tests benchmarks

# the tiny models the tests train (cached in tests/.cache, keyed by their code): trained here,
# before pytest, so that a first run's training is not counted against one test's time limit
test-models: $(STAMP)
	cd tests && ../$(PY) -c "from ranking_model import ranking_model; from bilingual_model import bilingual_model; from vit_model import vit_model; ranking_model(); bilingual_model(); vit_model()"

# two workers, one test file each at a time (a file's fixtures are made once): much of the suite
# waits on child processes, timers and disk, so two keep both cores busy. TEST_WORKERS=0: one process.
# A worker that dies (killed, out of memory) fails the run with the test it was running named,
# instead of being replaced (a replaced worker could leave the run waiting for ever); and the
# whole run has a limit of its own, TEST_LIMIT, so that nothing can keep it waiting past it.
TEST_WORKERS ?= 2
TEST_PARALLEL = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --max-worker-restart=0)
TEST_LIMIT ?= 60m
PYTEST = QT_QPA_PLATFORM=offscreen timeout --kill-after=60 $(TEST_LIMIT) $(PY) -m pytest -q $(TEST_PARALLEL)

test: $(STAMP) lint test-models
	$(PYTEST) -m "not slow" --durations=30

test-long: TEST_LIMIT = 180m
test-long: $(STAMP) lint test-models
	$(PYTEST) --durations=30

# The oldest Python pyproject.toml claims (requires-python), in a venv of its own: everything
# but torch and what stands on it (torch's wheels for it are not on this machine; from the
# registry, a CUDA build of several GB), and the tests that need neither: the core's children,
# files, catalog, places, pure functions, metadata, faces, text in photos and the structure.
OLDEST_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python3.10) \
	$(shell command -v python3.10 2>/dev/null))
OLDEST_VENV := .venv-oldest
OLDEST_STAMP := $(OLDEST_VENV)/.installed-stamp
NOT_ON_OLDEST := torch open_clip_torch transformers
OLDEST_TESTS := tests/test_children.py tests/test_files.py tests/test_store.py tests/test_places.py \
	tests/test_pure.py tests/test_metadata.py tests/test_faces.py tests/test_ocr.py \
	tests/test_structure.py

$(OLDEST_STAMP): pyproject.toml Makefile
	@test -n "$(OLDEST_PYTHON)" || { echo "make test-oldest: no Python 3.10 found (OLDEST_PYTHON=...)"; exit 1; }
	rm -rf $(OLDEST_VENV) && $(OLDEST_PYTHON) -m venv $(OLDEST_VENV)
	mkdir -p build
	$(PYTHON) -c 'import re, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(r for r in p["dependencies"] + p["optional-dependencies"]["dev"] \
		if re.split(r"[<>=!~ ;\[]", r)[0] not in "$(NOT_ON_OLDEST)".split()))' \
		> build/oldest-requirements.txt
	$(OLDEST_VENV)/bin/python -m pip install -q --upgrade pip
	$(OLDEST_VENV)/bin/python -m pip install -q -r build/oldest-requirements.txt
	$(OLDEST_VENV)/bin/python -m pip install -q --no-deps -e .
	touch $@

test-oldest: $(OLDEST_STAMP)
	QT_QPA_PLATFORM=offscreen timeout --kill-after=60 20m $(OLDEST_VENV)/bin/python -m pytest -q \
		-m "not slow" $(OLDEST_TESTS)

# the slim bundle (no torch: models answer from their exported towers), built in a venv of its
# own: the set-up's exact versions without what only exporting, the tests or a GPU need, and
# OpenCV without its Qt and X libraries (RapidOCR needs only its image functions), and no ONNX
# Runtime (RapidOCR's networks run on OpenVINO, core/text/ocr.py). app-gpu
# keeps torch and builds from the set-up's venv.
APP_VENV := build/venv-slim
NOT_IN_APP := onnxruntime|torch|torchvision|torchaudio|triton|nvidia-.*|cuda-.*|open.clip.torch|timm|transformers|safetensors|sympy|mpmath|networkx|scipy|scikit.image|matplotlib|opencv-python|imageio|imageio.ffmpeg|pytest.*|ruff|import.linter
$(APP_VENV)/.installed-stamp: $(STAMP) Makefile
	$(PY) -m pip install -q 'pyinstaller>=6'
	rm -rf $(APP_VENV) && $(PYTHON) -m venv $(APP_VENV)
	$(PY) -m pip freeze --exclude-editable | grep -viE '^($(NOT_IN_APP))(==| @)' > build/slim-requirements.txt
	OPENCV=$$($(PY) -m pip freeze | sed -n 's/^opencv-python==//p'); \
	test -n "$$OPENCV" || { echo "make app: opencv-python is not pinned in $(VENV)"; exit 1; }; \
	$(APP_VENV)/bin/python -m pip install -q --no-deps -r build/slim-requirements.txt \
		"opencv-python-headless==$$OPENCV"
	$(APP_VENV)/bin/python -m pip install -q --no-deps -e .
	touch $@

app: $(APP_VENV)/.installed-stamp
	SNAPSEEK_BUNDLE=slim $(APP_VENV)/bin/pyinstaller --noconfirm build.spec
	$(APP_VENV)/bin/python resources/pyinstaller/strip_safely.py dist/snapseek
	du -sh dist/snapseek

app-gpu: $(STAMP)
	$(PY) -m pip install -q 'pyinstaller>=6'
	SNAPSEEK_BUNDLE=full $(VENV)/bin/pyinstaller --noconfirm --distpath dist-gpu build.spec

# the frozen slim bundle on a library with a tiny exported model: a search, and the app started
app-check: app
	cd tests && ../$(PY) app_check.py ../dist/snapseek

clean:
	rm -rf $(VENV) $(OLDEST_VENV) build dist dist-gpu

bench: $(STAMP)
	$(PY) -m benchmarks.run

bench-quick: $(STAMP)
	$(PY) -m benchmarks.run --quick
