#!/usr/bin/env bash
# test_load_faults.sh: the short (30 s) run of scripts/loadtest-faults.sh in ctest — hwjose serve
# under wrk while the PKCS#11 token fails and swtpm restarts. Makes its own SoftHSM token and
# swtpm (under $HWJ_TEST_STATE), so it needs no fixture. Env (tests/fault.cmake): HWJOSE,
# HWJ_SOURCE_DIR, HWJ_TEST_STATE, HWJ_FAULT_SHIM, HWJ_SOFTHSM_MODULE.
set -euo pipefail
exec bash "${HWJ_SOURCE_DIR:?}/scripts/loadtest-faults.sh" "$(dirname "${HWJOSE:?}")" 30
