#!/usr/bin/env bash
# test_openapi.sh: docs/openapi.yaml passes a real OpenAPI validator and lists exactly the error
# codes (and at least the paths) that docs/api.md documents (tests/interop/openapi_check.mjs).
# Env: HWJ_SOURCE_DIR.
set -euo pipefail
src=${HWJ_SOURCE_DIR:?}
command -v node >/dev/null || { echo "node is required (scripts/install-deps.sh)"; exit 1; }
[ -d "$src/tests/interop/node_modules/@apidevtools/swagger-parser" ] ||
  { echo "@apidevtools/swagger-parser missing: run scripts/install-deps.sh"; exit 1; }
timeout 60 node "$src/tests/interop/openapi_check.mjs" "$src/docs/openapi.yaml" "$src/docs/api.md"
