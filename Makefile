# Two entry points (see README): `make run` reproduces the study, `make test` runs the tests.
# Both first build .venv from the exact pins in requirements.txt (once; again when it changes).

PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.txt | cut -c1-12)

.PHONY: run test coverage lint clean-venv

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "latent-atlas needs Python >= 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(VENV)/bin/snakemake $(ARGS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(ARGS)

# The full suite with coverage of the package, the workflow jobs' subprocesses included.
coverage: $(STAMP)
	rm -f .coverage .coverage.*
	COVERAGE_FILE=$(CURDIR)/.coverage COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml \
		$(VENV)/bin/python -m pytest $(ARGS)
	$(VENV)/bin/coverage combine -q
	$(VENV)/bin/coverage report --include='workflow/scripts/latent_atlas/*' | tail -1

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/snakefmt --check .
	$(VENV)/bin/snakemake --lint

clean-venv:
	rm -rf $(VENV)
