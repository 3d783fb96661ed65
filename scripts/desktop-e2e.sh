#!/usr/bin/env bash
# desktop-e2e.sh: the real app, driven through tauri-driver (WebDriver over WebKitWebDriver).
#
# Usage: scripts/desktop-e2e.sh APP_BINARY KEYHAVEN_CLI SCREENSHOT_DIR
#
# In a throw-away desktop session (scripts/lib/desktop-session.sh) it starts the local
# oidc-provider server, seeds a keychain vault with one connection (`alice`, custom provider
# `testas`, deep-link redirects) through the CLI, then runs tests/app-e2e/run.mjs, which launches
# the app through tauri-driver and checks: the connections screen, a connect flow finished by a
# second launch with the dev.keyhaven: URL while a page script tries to hear the callback URL
# (SEC-44), native confirmations and file dialogs for export, disconnect, import, provider changes
# and rekey (SEC-43), the token viewer with the server stopped, the cloud wizard against
# tests/cloud-fake, Reveal's native confirmation, Copy's "do not record" hint (SEC-47), settings.
# Bounded in time; leaves no process behind. Run by `make test`.

set -uo pipefail

NAME=desktop-e2e
# shellcheck source=lib/desktop-session.sh
source "$(dirname "$0")/lib/desktop-session.sh"

if [[ $# -ne 3 ]]; then
    say "usage: $0 APP_BINARY KEYHAVEN_CLI SCREENSHOT_DIR"
    exit 2
fi
binaries "$1" "$2"
shots=$(realpath -m -- "$3")
mkdir -p -- "$shots" || { say "FAIL: cannot create $shots"; exit 2; }
shot="$shots/app-e2e.png"  # its .log receives the helpers' logs on failure
need Xvfb dbus-daemon dbus-send gnome-keyring-daemon setsid timeout node tauri-driver WebKitWebDriver xdotool xclip xdg-mime xdg-open
repo=$(cd "$(dirname "$0")/.." && pwd)

session_start

start oauth node "$repo/tests/oauth-server/server.mjs"
oauth_pgid=$started
issuer=
as_ready() { issuer=$(sed -nE 's/.*"issuer":"([^"]+)".*/\1/p' "$work/oauth.log" | head -n 1); [[ -n $issuer ]]; }
waits 30 as_ready || fail "the test OAuth server did not start within 30s"

# The cloud providers' fake; the (debug) app sends https://HOST/PATH there as BASE/HOST/PATH.
start cloud node "$repo/tests/cloud-fake/server.mjs"
cloud_base=
cloud_ready() { cloud_base=$(sed -nE 's/.*"base":"([^"]+)".*/\1/p' "$work/cloud.log" | head -n 1); [[ -n $cloud_base ]]; }
waits 30 cloud_ready || fail "the cloud provider fake did not start within 30s"
export KEYHAVEN_TEST_API_BASE=$cloud_base

timeout 60 "$cli" init >"$work/cli.log" 2>&1 || fail "\`keyhaven init\` failed"
timeout 60 "$cli" providers add --id testas --issuer "$issuer" --client-id keyhaven-native \
    --scope openid --scope email --scope offline_access --redirect deep-link >>"$work/cli.log" 2>&1 ||
    fail "\`keyhaven providers add\` failed"

# Seed `alice` through the CLI, the redirect handed over with `keyhaven handle-url`.
export BROWSER="node $repo/tests/oauth-server/browser.mjs" KH_TEST_REDIRECT_FILE="$work/redirect.txt"
KH_TEST_LOGIN=alice timeout 90 "$cli" connect testas --json --timeout 60 >"$work/seed.out" 2>>"$work/cli.log" &
seed=$!
redirect_written() { [[ -s $work/redirect.txt ]]; }
waits 30 redirect_written || fail "seeding: the browser never reached the redirect"
timeout 30 "$cli" handle-url "$(head -n 1 "$work/redirect.txt")" >>"$work/cli.log" 2>&1 || fail "seeding: handle-url failed"
wait "$seed" || fail "seeding: connect did not finish"
rm -f "$work/redirect.txt"

# From here the app opens the browser as on a desktop without $BROWSER: tauri-plugin-opener runs
# xdg-open, which starts the default http(s) handler, the scripted browser registered as a desktop
# entry (now signing in as bob).
unset BROWSER
mkdir -p "$XDG_DATA_HOME/applications"
cat >"$XDG_DATA_HOME/applications/kh-test-browser.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=Keyhaven test browser
Exec=node $repo/tests/oauth-server/browser.mjs %u
NoDisplay=true
MimeType=x-scheme-handler/http;x-scheme-handler/https;
EOF
xdg-mime default kh-test-browser.desktop x-scheme-handler/http x-scheme-handler/https ||
    fail "could not make the test browser the default http(s) handler"

# tauri-driver on free ports; the app it launches inherits the session's bus, keyring,
# KEYHAVEN_HOME and the scripted browser's settings.
port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wd_port=$(port) native_port=$(port)
export KH_TEST_LOGIN=bob WEBKIT_DISABLE_DMABUF_RENDERER=1 KEYHAVEN_LOG=${KEYHAVEN_LOG:-keyhaven_desktop=debug}
start driver tauri-driver --port "$wd_port" --native-port "$native_port"
driver_ready() { node -e "fetch('http://127.0.0.1:$wd_port/status').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; }
waits 30 driver_ready || fail "tauri-driver did not answer on port $wd_port within 30s"

APP="$app" CLI="$cli" WD="http://127.0.0.1:$wd_port" REDIRECT_FILE="$work/redirect.txt" OAUTH_PGID="$oauth_pgid" \
    SHOTS="$shots" WORK="$work" timeout 420 node "$repo/tests/app-e2e/run.mjs" || fail "the app e2e scenarios failed (see above)"
say "ok: screenshots in $shots"
exit 0
