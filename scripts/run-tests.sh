#!/usr/bin/env bash
# Every test, in order, then one closing line "summary: N passed, M failed".
#
#   scripts/run-tests.sh     (what `make test` runs after installing packages and building the UI)
#
# 1. the UI type check (svelte-check) and the test OAuth server's own self-test,
# 2. all cargo tests, inside a private D-Bus session with an unlocked gnome-keyring (the CLI's
#    integration tests also start their own sessions for the states they need),
# 3. the desktop smoke test: the real app under Xvfb opening a vault through its UI, the .deb,
#    and the app end to end through tauri-driver (a keychain vault, then a locked passphrase one).
# Counts come from cargo's own "test result:" lines plus one per script check.
set -uo pipefail
cd "$(dirname "$0")/.."

: "${CARGO_TARGET_DIR:?set CARGO_TARGET_DIR (the Makefile does)}"
log=$(mktemp /tmp/keyhaven-tests.XXXXXX)
trap 'rm -f "$log"' EXIT
passed=0 failed=0
check() { # check NAME CMD...: runs a script-level check counted as one test
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name" >&2; fi
}

check "docs: cited rules, documents and files exist" scripts/check-docs.sh
check "ui brand icons up to date, every slug in simple-icons (ui/scripts/icons.mjs)" bash -c 'cd ui && node scripts/icons.mjs --check'
check "ui type check" bash -c 'cd ui && npm run --silent check'
check "ui unit tests (vitest)" bash -c 'cd ui && npm run --silent test:unit'
check "ui screens in chromium (mocked IPC)" bash -c 'cd ui && npm run --silent test:ui'
check "oauth test server self-test" node --test tests/oauth-server/
check "cloud provider fake self-test" node tests/cloud-fake/selftest.mjs
check "tool servers self-test (git, kubectl, skopeo)" node --test tests/tool-servers/selftest.mjs
check "resource server self-test (RFC 9728 metadata, hostile modes)" node --test tests/resource-server/selftest.mjs

scripts/with-secret-service.sh cargo test --workspace --features keyhaven-cli/fault-injection 2>&1 | tee "$log"
cargo_status=${PIPESTATUS[0]}
read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p + 0, f + 0 }' "$log")
passed=$((passed + p)) failed=$((failed + f))
if [ "$cargo_status" -ne 0 ] && [ "$f" -eq 0 ]; then
  failed=$((failed + 1)); echo "FAILED: cargo test exited $cargo_status" >&2
fi

check "desktop smoke" scripts/desktop-smoke.sh "$CARGO_TARGET_DIR/debug/keyhaven-desktop" \
  "$CARGO_TARGET_DIR/debug/keyhaven" test-artifacts/desktop-smoke.png
# The Debian package: a release build (incremental after the first, ~15 min cold on 2 cores).
# tauri-cli comes through npx, pinned: its lock entry cannot be `npm ci`-installed from this
# registry (its optional per-platform packages are missing from the metadata).
check "debian package (tauri build --bundles deb)" bash -c \
  'cd src-tauri && npx --yes @tauri-apps/cli@2.12.5 build --bundles deb >/dev/null && ../scripts/compress-deb.sh "$CARGO_TARGET_DIR/release/bundle/deb" && ../scripts/check-deb.sh "$CARGO_TARGET_DIR/release/bundle/deb"'
check "desktop app end to end (tauri-driver)" scripts/desktop-e2e.sh "$CARGO_TARGET_DIR/debug/keyhaven-desktop" \
  "$CARGO_TARGET_DIR/debug/keyhaven" test-artifacts
check "desktop app on a locked passphrase vault (tauri-driver)" scripts/desktop-e2e-locked.sh \
  "$CARGO_TARGET_DIR/debug/keyhaven-desktop" "$CARGO_TARGET_DIR/debug/keyhaven" test-artifacts

echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
