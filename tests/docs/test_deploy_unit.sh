#!/usr/bin/env bash
# test_deploy_unit.sh: the systemd unit in docs/deploy.md (between the hwjose-unit markers) passes
# `systemd-analyze verify` without a single warning — systemd only warns, and runs the unit anyway,
# when it drops a setting it cannot parse (an inline comment turns `PrivateDevices=yes  # ...`
# into an invalid boolean, silently losing the hardening). ExecStart and ExecStartPre are pointed
# at the binary under test, which must exist for verify. Env: HWJOSE, HWJ_SOURCE_DIR,
# HWJ_TEST_STATE.
set -euo pipefail

HWJOSE=${HWJOSE:?set HWJOSE to the hwjose binary}
src=${HWJ_SOURCE_DIR:?}
state=${HWJ_TEST_STATE:-/tmp}
mkdir -p "$state"
dir=$(mktemp -d "$state/deploy-unit.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0
ok() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

command -v systemd-analyze >/dev/null || { echo "systemd-analyze is required (scripts/install-deps.sh)"; exit 1; }

# verify UNIT_FILE: systemd-analyze verify's output (empty when clean), exit status 1 if not 0
verify() { (cd "$(dirname "$1")" && SYSTEMD_LOG_COLOR=0 timeout 60 systemd-analyze verify "./$(basename "$1")" 2>&1); }

sed -n '/<!-- hwjose-unit:begin -->/,/<!-- hwjose-unit:end -->/p' "$src/docs/deploy.md" |
  sed -e '1,2d' -e '$d' | sed -e '$d' -e "s|/usr/bin/hwjose |$HWJOSE |" >"$dir/hwjose.service"
if grep -q '^\[Service\]' "$dir/hwjose.service" && grep -q "^ExecStart=$HWJOSE serve --config" "$dir/hwjose.service"; then
  ok "the unit is found between the markers in docs/deploy.md"
else
  fail "no unit between <!-- hwjose-unit:begin --> and <!-- hwjose-unit:end --> in docs/deploy.md"
fi
if out=$(verify "$dir/hwjose.service") && [ -z "$out" ]; then
  ok "systemd-analyze verify: no errors, no warnings"
else
  fail "systemd-analyze verify: $out"
fi
if grep -Eq '^[A-Za-z]+=.*[[:space:]]#' "$dir/hwjose.service"; then
  fail "a setting carries an inline comment (systemd makes it part of the value)"
else
  ok "no setting carries an inline comment"
fi
if grep -q '^Type=notify' "$dir/hwjose.service"; then ok "Type=notify (the service sends READY=1)"; else fail "the unit is not Type=notify"; fi

# The check catches what it is for: the same unit with an inline comment on a boolean.
sed 's|^PrivateDevices=yes$|PrivateDevices=yes   # a comment|' "$dir/hwjose.service" >"$dir/broken.service"
if out=$(verify "$dir/broken.service"); [ -n "$out" ]; then
  ok "an inline comment is reported by this systemd-analyze (the check has teeth)"
else
  fail "systemd-analyze verify did not report an inline comment: the check above proves nothing"
fi

echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
