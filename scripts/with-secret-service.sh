#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring Secret Service,
# and a throw-away HOME, so tests use a real keychain without touching the user's own.
#
#   scripts/with-secret-service.sh cargo test --workspace
#
# Integration tests that need special keychain states (locked, absent, no bus) start their own
# private sessions as well; this outer one serves everything else.
set -euo pipefail

if [ -z "${KEYHAVEN_IN_SECRET_SERVICE:-}" ]; then
  export KEYHAVEN_IN_SECRET_SERVICE=1
  exec dbus-run-session -- "$0" "$@"
fi

tmp=$(mktemp -d /tmp/keyhaven-ss.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# Keep cargo and rustup where they are, whatever HOME becomes.
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export HOME=$tmp XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
# The Keyhaven agent's socket: private to this session (KEYHAVEN_AGENT_SOCK, not
# XDG_RUNTIME_DIR, which gnome-keyring would use too).
export KEYHAVEN_AGENT_SOCK=${KEYHAVEN_AGENT_SOCK:-$tmp/agent/agent.sock}
mkdir -m 700 "$tmp/agent"
unset DISPLAY WAYLAND_DISPLAY
# The newline matters: with an empty stdin no login collection is created.
eval "$(printf '\n' | gnome-keyring-daemon --daemonize --unlock --components=secrets | sed 's/^/export /')"
# The daemon claims its bus name after it has daemonized: wait for it (at most 10 s), or the
# first command would have D-Bus start a second, empty keyring.
for _ in $(seq 200); do
  # NameHasOwner asks the bus, which (unlike a call to the service) starts nothing.
  if gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
    --method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets 2>/dev/null | grep -q true; then
    break
  fi
  sleep 0.05
done
"$@"
