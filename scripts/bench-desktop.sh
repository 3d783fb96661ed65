#!/usr/bin/env bash
# bench-desktop.sh: Keyhaven's desktop app next to an empty Tauri 2 app built the same way
# (benches/empty-tauri-app: same tauri, same release profile), in the same run, same machine:
#   - cold start to first paint: exec until the window shows a drawn page (Keyhaven: the
#     connections screen of a seeded keychain vault), polled with screenshots every 50 ms;
#   - idle memory: PSS of the whole process tree (app + WebKitWebProcess + WebKitNetworkProcess),
#     summed from /proc/*/smaps_rollup 3 s after the first paint;
#   - release binary and .deb sizes (both apps are bundled with `tauri build --bundles deb`).
# Targets: within 1.15x of the empty app on start-up and memory; .deb under 10 MB.
#
#   scripts/bench-desktop.sh [RUNS]   # default 5 runs each; prints medians
set -uo pipefail
NAME=bench-desktop
# shellcheck source=lib/desktop-session.sh
source "$(dirname "$0")/lib/desktop-session.sh"
runs=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/keyhaven/target}

say "building release binaries and .debs (the first time takes a while on 2 cores)"
tauri_cli=(npx --yes @tauri-apps/cli@2.12.5)
(cd "$repo/src-tauri" && "${tauri_cli[@]}" build --bundles deb >/dev/null) || fail "Keyhaven release build failed"
cargo build --release -q -p keyhaven-cli --manifest-path "$repo/Cargo.toml" || fail "CLI release build failed"
(cd "$repo/benches/empty-tauri-app" &&
    "${tauri_cli[@]}" build --bundles deb --config '{"productName":"empty-tauri-app","bundle":{"active":true}}' >/dev/null) ||
    fail "empty app build failed"
kh=$CARGO_TARGET_DIR/release/keyhaven-desktop
cli=$CARGO_TARGET_DIR/release/keyhaven
empty=$CARGO_TARGET_DIR/release/empty-tauri-app
deb=$(ls -t "$CARGO_TARGET_DIR"/release/bundle/deb/Keyhaven_*.deb | head -n 1)
empty_deb=$(ls -t "$CARGO_TARGET_DIR"/release/bundle/deb/empty-tauri-app_*.deb | head -n 1)

session_start
export WEBKIT_DISABLE_DMABUF_RENDERER=1
timeout 60 "$cli" init >/dev/null 2>&1 || fail "keyhaven init failed"
# A few connections so the first screen is the real connections list, not the empty state.
(tr -dc A-Za-z0-9 </dev/urandom | head -c 64; echo) |
    timeout 30 "$cli" credentials add hetzner --no-verify --account web-project >/dev/null 2>&1 || fail "seeding failed"
(tr -dc A-Z0-9 </dev/urandom | head -c 36; echo) |
    timeout 30 "$cli" credentials add vultr --no-verify --account ops >/dev/null 2>&1 || fail "seeding failed"

# measure NAME BINARY: prints "start_ms pss_kib" for one cold start.
measure() {
    local bin=$1 t0 t1 win colours pss pg
    t0=$(date +%s%N)
    start run "$bin"
    pg=$started
    win=
    for _ in $(seq 1 600); do
        win=$(xdotool search --onlyvisible --name '^Keyhaven$' 2>/dev/null | head -n 1)
        if [[ -n $win ]]; then
            colours=$(import -window "$win" png:- 2>/dev/null | identify -format '%k' - 2>/dev/null || echo 0)
            ((colours > 50)) && break
        fi
        sleep 0.05
    done
    t1=$(date +%s%N)
    [[ -n $win ]] || { echo "0 0"; return; }
    sleep 3
    pss=0
    for pid in $(pgrep -g "$pg"); do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null)
        pss=$((pss + ${v:-0}))
    done
    kill -TERM -- "-$pg" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pg" 2>/dev/null
    echo "$(((t1 - t0) / 1000000)) $pss"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A start_ms pss_kib
for app in empty keyhaven; do
    bin=$empty; [[ $app == keyhaven ]] && bin=$kh
    measure "$bin" >/dev/null  # warm the page cache
    : >"$work/$app.txt"
    for _ in $(seq 1 "$runs"); do measure "$bin" >>"$work/$app.txt"; done
    start_ms[$app]=$(cut -d' ' -f1 "$work/$app.txt" | median)
    pss_kib[$app]=$(cut -d' ' -f2 "$work/$app.txt" | median)
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
size_mib() { awk -v s="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MiB", s / 1048576 }'; }
echo "desktop bench ($runs runs each, medians; Xvfb, WEBKIT_DISABLE_DMABUF_RENDERER=1):"
echo "  start to first paint: Keyhaven ${start_ms[keyhaven]} ms, empty app ${start_ms[empty]} ms ($(ratio "${start_ms[keyhaven]}" "${start_ms[empty]}"), target <= 1.15x)"
echo "  idle PSS, whole tree: Keyhaven $((pss_kib[keyhaven] / 1024)) MiB, empty app $((pss_kib[empty] / 1024)) MiB ($(ratio "${pss_kib[keyhaven]}" "${pss_kib[empty]}"), target <= 1.15x)"
for app in keyhaven empty; do
    echo "  $app, each run (ms, MiB): $(awk '{printf "%s/%d ", $1, $2 / 1024}' "$work/$app.txt")"
done
echo "  release binary: Keyhaven $(size_mib "$kh"), empty app $(size_mib "$empty")"
echo "  .deb: Keyhaven $(size_mib "$deb") ($(stat -c %s "$deb") bytes, target < 10 MB), empty app $(size_mib "$empty_deb")"
