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
# pip --quiet twice: its progress and warnings are hidden (a machine's pip.conf naming an extra
# index that lacks a package warns once per package), its errors are not, and a failure stops make.
$(STAMP): requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "healthmesh-dev.pth").write_text("$(CURDIR)\n$(CURDIR)/gen\n")'
	printf '#!/bin/sh\nexec "$$(dirname "$$0")/python" -m client "$$@"\n' > $(VENV)/bin/healthmesh
	chmod +x $(VENV)/bin/healthmesh
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m services.runner

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/buf lint

# Regenerates gen/ from proto/: messages, type stubs, grpc stubs, the descriptor set Envoy
# loads, and the OpenAPI document made from it (gen/openapi.json, services/runner/openapi.py).
# The descriptor set also carries google/rpc/error_details.proto, so Envoy can render
# ErrorInfo and BadRequest details in JSON errors. `make gen-check` fails when the committed
# gen/ differs from what the protos produce. The Python SDK's typed method table
# (client/healthmesh_client/_generated.py, services/runner/sdk_codegen.py) is made from the same
# descriptor set, and checked the same way.
DESCRIPTOR_EXTRAS := google/rpc/error_details.proto google/rpc/status.proto
SDK_GENERATED := client/healthmesh_client/_generated.py
define generate
	$(PROTOC) --python_out=$(1) --pyi_out=$(1) --grpc_python_out=$(1) $(PROTOS)
	$(PROTOC) --descriptor_set_out=$(1)/healthmesh.binpb --include_imports --include_source_info \
	  $(PROTOS) $(DESCRIPTOR_EXTRAS)
	$(PY) -m services.runner.openapi $(1)/healthmesh.binpb $(1)/openapi.json
	$(PY) -m services.runner.sdk_codegen $(1)/healthmesh.binpb $(2)
endef

gen: $(STAMP)
	rm -rf gen/healthmesh gen/healthmesh.binpb gen/openapi.json
	$(call generate,gen,$(SDK_GENERATED))

gen-check: $(STAMP)
	rm -rf build/gen-check build/gen-check-sdk && mkdir -p build/gen-check build/gen-check-sdk
	$(call generate,build/gen-check,build/gen-check-sdk/_generated.py)
	diff -r -x __pycache__ build/gen-check gen > /dev/null || { echo "gen/ is stale: run 'make gen' and commit it" >&2; exit 1; }
	diff build/gen-check-sdk/_generated.py $(SDK_GENERATED) > /dev/null || { echo "$(SDK_GENERATED) is stale: run 'make gen' and commit it" >&2; exit 1; }

bench: $(STAMP)
	@echo "usage: $(PY) -m bench <name>"

clean-state:
	rm -rf .state
