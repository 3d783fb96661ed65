#!/usr/bin/env bash
# desktop-smoke.sh: does the built desktop app start and draw a real window?
#
# Usage: scripts/desktop-smoke.sh APP_BINARY KEYHAVEN_CLI SCREENSHOT.png
#
# Builds nothing. In a throw-away environment (temp HOME and KEYHAVEN_HOME, a fresh Xvfb, a
# private D-Bus session bus, an unlocked gnome-keyring as the Secret Service) it creates a vault
# with `KEYHAVEN_CLI init`, starts APP_BINARY, waits for a window named "Keyhaven" to be mapped,
# screenshots it to SCREENSHOT.png, checks the picture is not blank (more than 50 colours: a
# WebKit view that failed to load is one flat colour) and that the page's IPC call opened the
# vault through core; that the web process runs JavaScript without JIT; deep links (a second
# launch, xdg-open, a cold start); and the background scheduler (refreshes as `desktop`, and a
# notification for a grant revoked at the server).
#
# Exit 0 on success; otherwise non-zero with one line on stderr saying why (the logs of the app
# and its helpers are then kept next to the screenshot as SCREENSHOT.log).
# Every wait has a timeout and a trap stops everything it started, so it never hangs and leaves
# no process behind, whatever happens. Run by `make test`.

set -uo pipefail

NAME=desktop-smoke
# shellcheck source=lib/desktop-session.sh
source "$(dirname "$0")/lib/desktop-session.sh"

readonly WINDOW_TIMEOUT=${SMOKE_WINDOW_TIMEOUT:-30}  # seconds for the window to map
readonly RENDER_TIMEOUT=${SMOKE_RENDER_TIMEOUT:-20}  # seconds for the page to draw
readonly MIN_COLOURS=50

if [[ $# -ne 3 ]]; then
    say "usage: $0 APP_BINARY KEYHAVEN_CLI SCREENSHOT.png"
    exit 2
fi
binaries "$1" "$2"
shot=$(realpath -m -- "$3")
[[ -x $app ]] || { say "FAIL: $app is not executable"; exit 2; }
[[ -x $cli ]] || { say "FAIL: $cli is not executable"; exit 2; }
mkdir -p -- "$(dirname -- "$shot")" || { say "FAIL: cannot create the directory of $shot"; exit 2; }

need Xvfb xdotool import identify dbus-daemon dbus-send gnome-keyring-daemon setsid timeout

session_start

# A vault, created by the CLI, so the app shows its status screen.
timeout 60 "$cli" init >"$work/cli-init.log" 2>&1 || fail "\`keyhaven init\` failed or timed out (exit $?)"
[[ -f $KEYHAVEN_HOME/vault.db ]] || fail "\`keyhaven init\` succeeded but left no $KEYHAVEN_HOME/vault.db"

# The app. No GPU under Xvfb: keep WebKit on its software paths.
export WEBKIT_DISABLE_DMABUF_RENDERER=1 KEYHAVEN_LOG=${KEYHAVEN_LOG:-info}
start app "$app"
app_pid=$started

# Polled rather than `xdotool search --sync`, so an app that dies early fails at once.
window=
mapped() {
    window=$(timeout 5 xdotool search --onlyvisible --name '^Keyhaven$' 2>/dev/null | head -n 1)
    [[ -n $window ]] || ! kill -0 "$app_pid" 2>/dev/null
}
waits "$WINDOW_TIMEOUT" mapped || fail "no window named Keyhaven was mapped within ${WINDOW_TIMEOUT}s"
[[ -n $window ]] || fail "the app exited before showing a window"

# The window maps before the page has drawn: retake the screenshot until it shows content.
colours=0
deadline=$((SECONDS + RENDER_TIMEOUT))
while :; do
    kill -0 "$app_pid" 2>/dev/null || fail "the app exited after showing its window"
    if timeout 15 import -window "$window" "$shot" 2>>"$work/import.log"; then
        colours=$(timeout 15 identify -format '%k' "$shot" 2>>"$work/import.log") || colours=0
        ((colours > MIN_COLOURS)) && break
    fi
    ((SECONDS < deadline)) || break
    sleep 0.5
done
((colours > MIN_COLOURS)) ||
    fail "the Keyhaven window stayed blank for ${RENDER_TIMEOUT}s ($colours colours in $shot, need > $MIN_COLOURS)"

# Drawn is not enough: the page must have called the app's `vault_status` command and core must
# have opened the vault. An open WAL-mode SQLite connection keeps `vault.db-shm` beside the file,
# so its presence proves the whole chain UI -> IPC -> core -> keychain -> SQLCipher worked.
vault_opened() { [[ -e $KEYHAVEN_HOME/vault.db-shm ]]; }
waits 10 vault_opened || fail "the window drew but the app never opened the vault (no vault.db-shm)"
# The web process runs JavaScript without JIT compilers (lib.rs, webview_without_jit): it got
# JSC_useJIT=0 from the app.
webproc=$(pgrep -s "$app_pid" -f WebKitWebProcess | head -n 1)
[[ -n $webproc ]] || fail "no WebKitWebProcess in the app's session"
tr '\0' '\n' <"/proc/$webproc/environ" | grep -qx 'JSC_useJIT=0' ||
    fail "the web process $webproc runs with JavaScript JIT compilers (no JSC_useJIT=0 in its environment)"
if grep -qiE 'panicked|ERROR' "$work/app.log"; then
    fail "the app logged an error: $(grep -iE -m1 'panicked|ERROR' "$work/app.log")"
fi

# --- deep links, delivered as the OS would ---------------------------------------------------
# A sign-in started by `keyhaven connect --redirect deep-link` against the local oidc-provider
# server; the browser script stops at the dev.keyhaven: redirect and writes it to a file; the
# test then delivers it (1) by launching the app binary a second time (single-instance hands the
# URL to the running app), (2) through `xdg-open`, which runs the handler entry the debug app
# registered at start-up (the entry Debian 12's xdg-open must be able to run), and (3) with the
# app not running: a cold start by the link. Each time the app (never the webview) finishes the
# flow and the waiting `connect` sees the new connection.
repo=$(cd "$(dirname "$0")/.." && pwd)
command -v node >/dev/null || fail "node is not installed"
# Access tokens last 20 s, so every connection is due at each pass of the app's scheduler (below).
start oauth env KH_AS_ACCESS_TTL=20 node "$repo/tests/oauth-server/server.mjs"
issuer=
as_ready() { issuer=$(sed -nE 's/.*"issuer":"([^"]+)".*/\1/p' "$work/oauth.log" | head -n 1); [[ -n $issuer ]]; }
waits 30 as_ready || fail "the test OAuth server did not start within 30s"
timeout 60 "$cli" providers add --id testas --issuer "$issuer" --client-id keyhaven-native \
    --scope openid --scope email --scope offline_access --redirect deep-link >"$work/cli-add.log" 2>&1 ||
    fail "\`keyhaven providers add\` failed"

# connect_via NAME LOGIN DELIVER...: starts `connect`, waits for the redirect, runs DELIVER "$url",
# then requires `connect` to finish with the LOGIN's connection.
connect_via() {
    local name=$1 login=$2 url out pid
    shift 2
    rm -f "$work/redirect.txt"
    BROWSER="node $repo/tests/oauth-server/browser.mjs" KH_TEST_REDIRECT_FILE="$work/redirect.txt" \
        KH_TEST_LOGIN="$login" timeout 90 "$cli" connect testas --redirect deep-link --json \
        --timeout 60 >"$work/connect-$name.out" 2>"$work/connect-$name.log" &
    pid=$!
    redirect_written() { [[ -s $work/redirect.txt ]]; }
    waits 30 redirect_written || fail "$name: the browser never reached the dev.keyhaven: redirect"
    url=$(head -n 1 "$work/redirect.txt")
    [[ $url == dev.keyhaven:* ]] || fail "$name: unexpected redirect $url"
    "$@" "$url" >>"$work/deliver-$name.log" 2>&1 || fail "$name: delivering the link failed (exit $?)"
    wait "$pid" || fail "$name: \`keyhaven connect\` did not see the flow finish (exit $?): $(tail -n 1 "$work/connect-$name.log")"
    grep -q "\"account\": \"$login@" "$work/connect-$name.out" ||
        grep -q "\"account\": \"$login\"" "$work/connect-$name.out" ||
        fail "$name: connect printed $(tr -d '\n' <"$work/connect-$name.out")"
}

second_launch() { timeout 20 "$app" "$1"; }
connect_via second-launch alice second_launch
kill -0 "$app_pid" 2>/dev/null || fail "the running app exited when a second launch handed it a link"

via_xdg_open() { timeout 20 xdg-open "$1"; }
[[ -f $XDG_DATA_HOME/applications/keyhaven-desktop-handler.desktop ]] ||
    fail "the app did not register its dev.keyhaven: handler in $XDG_DATA_HOME/applications"
connect_via xdg-open bob via_xdg_open

# Cold start: stop the app, deliver through xdg-open, which launches it with the link.
kill -TERM -- "-$app_pid" 2>/dev/null
stopped() { ! kill -0 "$app_pid" 2>/dev/null; }
waits 10 stopped || fail "the app did not stop"
cold_start() {
    setsid xdg-open "$1" >"$work/cold.log" 2>&1 </dev/null &
    local opener=$!
    pgids+=("$opener")
    sleep 0.1
}
connect_via cold-start carol cold_start
n=$(timeout 30 "$cli" list --json | grep -c '"provider": "testas"')
[[ $n -eq 3 ]] || fail "expected 3 testas connections after the three deep links, found $n"

# --- the background scheduler ----------------------------------------------------------------
# The app refreshes what is due every 30 s, through core's single-flight path, as `desktop`, and
# notifies when a connection needs signing in again. Carol's grant is revoked at the server first
# (RFC 7009, with her refresh token, as a password change or an admin would): her refresh must
# end in needs_reauth and a Notify call on the session bus (watched with dbus-monitor: no
# notification daemon runs here, so the call itself is the evidence); alice's and bob's must be
# refreshed by the app (audit rows with actor desktop).
command -v dbus-monitor >/dev/null || fail "dbus-monitor is not installed"
start notify dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(eval(process.argv[1]))})' "$1"; }
list=$(timeout 30 "$cli" list --json) || fail "keyhaven list failed"
id_of() { json "v.find(c => c.account.startsWith('$1')).id" <<<"$list"; }
alice=$(id_of alice) bob=$(id_of bob) carol=$(id_of carol)
carol_rt=$(timeout 30 "$cli" show "$carol" --reveal --json | json 'v.fields.find(f => f.name === "refresh_token").value') ||
    fail "could not read carol's refresh token"
revocation=$(node -e 'fetch(process.argv[1] + "/.well-known/openid-configuration").then(r => r.json()).then(d => console.log(d.revocation_endpoint))' "$issuer")
node -e 'fetch(process.argv[1], { method: "POST", body: new URLSearchParams({ token: process.argv[2], token_type_hint: "refresh_token", client_id: "keyhaven-native" }) }).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "$revocation" "$carol_rt" || fail "the server did not revoke carol's grant"
unset carol_rt
refreshed_by_app() {
    timeout 30 "$cli" audit --json --connection "$1" |
        json 'v.some(e => e.action === "token.refreshed" && e.actor === "desktop")' | grep -qx true
}
scheduled() {
    refreshed_by_app "$alice" && refreshed_by_app "$bob" &&
        [[ $(timeout 30 "$cli" list --json | json "v.find(c => c.id === '$carol').status") == needs_reauth ]] &&
        grep -q 'sign in again' "$work/notify.log"
}
waits 80 scheduled || fail "the scheduler did not refresh alice and bob, mark carol needs_reauth and notify within 80 s (notify log: $(tr -d '\n' <"$work/notify.log" | head -c 300))"
grep -q 'Your testas connection needs you to sign in again.' "$work/notify.log" ||
    fail "the notification does not say which connection: $(grep -m1 string "$work/notify.log")"

say "ok: window $window drawn with $colours colours, vault opened; deep links finished a running app's, an xdg-open'd and a cold-started flow; the scheduler refreshed, and notified a revoked grant; screenshot $shot"
exit 0
