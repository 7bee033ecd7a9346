# make app   : create .venv from nothing when missing, then launch the Gradio app on 127.0.0.1:7860
# make test  : create .venv from nothing when missing, then run the whole test suite (browser tests included)
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: app test bench venv clean-venv

venv: $(VENV)/.installed

# torch is installed first and pinned: installed after, a range in another package's requirements would
# otherwise pull a CUDA build of several GB.
# requirements-depth.txt: the optional depth networks (transformers); installed too so that their plumbing
# test runs (a small randomly initialised Depth Anything V2; no weights are downloaded).
$(VENV)/.installed: requirements.txt requirements-depth.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-depth.txt
	@touch $@

app: venv
	$(PY) app.py

test: venv
	$(PY) -m pytest -q tests

bench: venv
	$(PY) -m lifter.bench
	$(PY) -m app.bench

clean-venv:
	rm -rf $(VENV)
