# healthmesh: `make run` starts the whole mesh, `make test` runs the whole suite.
# Both build the virtualenv first when it is missing or requirements.lock changed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROTOS := $(shell find proto -name '*.proto' | sort)
PROTOC := $(PY) -m grpc_tools.protoc -Iproto -Ithird_party/googleapis

.PHONY: run test lint gen gen-check bench clean-state venv

venv: $(STAMP)

# The .pth file puts the repository root and gen/ on the venv's import path, so
# `services`, `client`, `bench` and the generated `healthmesh.*` packages import from anywhere.
$(STAMP): requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "healthmesh-dev.pth").write_text("$(CURDIR)\n$(CURDIR)/gen\n")'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m services.runner

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/buf lint

# Regenerates gen/ from proto/: messages, type stubs, grpc stubs and the descriptor set Envoy
# loads. `make gen-check` fails when the committed gen/ differs from what the protos produce.
gen: $(STAMP)
	rm -rf gen/healthmesh gen/healthmesh.binpb
	$(PROTOC) --python_out=gen --pyi_out=gen --grpc_python_out=gen \
	  --descriptor_set_out=gen/healthmesh.binpb --include_imports --include_source_info $(PROTOS)

gen-check: $(STAMP)
	rm -rf build/gen-check && mkdir -p build/gen-check
	$(PROTOC) --python_out=build/gen-check --pyi_out=build/gen-check --grpc_python_out=build/gen-check \
	  --descriptor_set_out=build/gen-check/healthmesh.binpb --include_imports --include_source_info $(PROTOS)
	diff -r -x __pycache__ build/gen-check gen > /dev/null || { echo "gen/ is stale: run 'make gen' and commit it" >&2; exit 1; }

bench: $(STAMP)
	@echo "usage: $(PY) -m bench <name>"

clean-state:
	rm -rf .state
