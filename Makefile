# Two commands do everything on a fresh machine:
#   make demo   set up .venv (when needed) and run the bundled real-data demo (yeast ATAC-seq)
#   make test   set up .venv (when needed) and run lint + format checks + the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
CORES ?= 2

.PHONY: setup demo report simulation test lint clean

# Snakemake's report step warns "coroutine 'InputFiles._predicated_size_files...' was never awaited" once per rule
# whose resources read input.size_mb (snakemake issue 4280, harmless); only that warning is silenced
REPORT_ENV = PYTHONWARNINGS="ignore:coroutine 'InputFiles._predicated_size_files:RuntimeWarning"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[workflow,peaks,motifs,qc,dev]'
	$(BIN)/python -m cisflow.jit
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/snakemake --profile profiles/default --cores $(CORES)
	$(REPORT_ENV) $(BIN)/snakemake --profile profiles/default --cores 1 --report results/report.html

report: setup
	$(REPORT_ENV) $(BIN)/snakemake --profile profiles/default --cores 1 --report results/report.html

simulation: setup
	$(BIN)/snakemake --profile profiles/default --cores $(CORES) --configfile config/examples/simulation.yaml

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --cores 1
	$(BIN)/snakemake --lint --cores 1 --configfile config/examples/simulation.yaml

test: lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf results logs .snakemake
