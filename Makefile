# make app   : create .venv from nothing when missing, then launch the Gradio app on 127.0.0.1:7860
# make test  : create .venv from nothing when missing, then run the whole test suite (browser tests included)
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: app test venv clean-venv

venv: $(VENV)/.installed

# torch is installed first and pinned: installed after, a range in another package's requirements would
# otherwise pull a CUDA build of several GB.
$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

app: venv
	$(PY) app.py

test: venv
	$(PY) -m pytest -q tests

clean-venv:
	rm -rf $(VENV)
