# Sourced by the desktop test scripts: a throw-away desktop session and the helpers to run
# things in it without ever hanging or leaving a process behind.
#
# Before sourcing, set NAME (the prefix of messages) and optionally `shot` (a screenshot path
# whose .log receives the helpers' logs on failure). After `session_start`: $work (temp dir, removed on
# exit), a private HOME/XDG dirs, KEYHAVEN_HOME=$work/vault, an Xvfb display ($DISPLAY), a private
# session bus ($DBUS_SESSION_BUS_ADDRESS) and an unlocked gnome-keyring Secret Service; and the
# functions say, fail, start NAME CMD... (own session, logs to $work/NAME.log, sets $started)
# and waits SECONDS CMD.... Before it: binaries APP CLI and need TOOL... check the arguments.

say() { printf '%s: %s\n' "${NAME:-desktop-test}" "$*" >&2; }

# binaries APP CLI: sets $app and $cli to the absolute paths of the app and the keyhaven CLI, or
# exits 2 naming the one that is missing.
binaries() {
    app=$(realpath -e -- "$1" 2>/dev/null) || { say "FAIL: no app binary at $1"; exit 2; }
    cli=$(realpath -e -- "$2" 2>/dev/null) || { say "FAIL: no keyhaven CLI binary at $2"; exit 2; }
}

# need TOOL...: exits 2 naming the first tool that is not installed.
need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { say "FAIL: $tool is not installed"; exit 2; }
    done
}

fail() {
    local reason=$1
    if [[ -n ${work:-} && -d ${work:-} && -n ${shot:-} ]]; then
        { for f in "$work"/*.log; do [[ -s $f ]] && { echo "== ${f##*/}"; tail -n 200 "$f"; }; done; } \
            >"${shot%.png}.log" 2>/dev/null || true
        reason+=" (logs: ${shot%.png}.log)"
    fi
    say "FAIL: $reason"
    exit 1
}


# Creates the session (call once, after argument checks).
session_start() {
# --- everything below is undone by cleanup() --------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/keyhaven-${NAME:-desktop}.XXXXXX") || { say "FAIL: mktemp failed"; exit 1; }
pgids=()  # process groups we started (each helper runs in its own session via setsid)

cleanup() {
    local status=$? pg i
    trap - EXIT INT TERM HUP
    # Newest first: the app before the bus and the X server it talks to.
    for ((i = ${#pgids[@]} - 1; i >= 0; i--)); do
        kill -TERM -- "-${pgids[i]}" 2>/dev/null || true
    done
    for pg in "${pgids[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 -- "-$pg" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL -- "-$pg" 2>/dev/null || true
    done
    rm -rf -- "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM HUP

# Starts "$@" in its own session (so its whole process tree can be stopped at once), logging to
# $work/NAME.log; sets $started to its pid, which is also its process-group id.
start() {
    local name=$1
    shift
    setsid "$@" >"$work/$name.log" 2>&1 </dev/null &
    started=$!
    pgids+=("$started")
}

# waits SECONDS CMD...: polls CMD every 0.1 s until it succeeds; false when time runs out.
waits() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# A private home: nothing here may touch the real keyring, config or vault of whoever runs this.
export HOME="$work/home"
export XDG_DATA_HOME="$HOME/.local/share" XDG_CONFIG_HOME="$HOME/.config" XDG_CACHE_HOME="$HOME/.cache"
export XDG_RUNTIME_DIR="$work/run"
export KEYHAVEN_HOME="$work/vault"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" && mkdir -m 700 "$XDG_RUNTIME_DIR" ||
    fail "cannot create the temporary home in $work"
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK WAYLAND_DISPLAY

# X server: -displayfd picks a free display number, so parallel runs never collide.
start xvfb Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display"
display_ready() { [[ -s $work/display ]]; }
waits 10 display_ready || fail "Xvfb did not start within 10s"
export DISPLAY=":$(tr -dc '0-9' <"$work/display")"

# Session bus, with a socket path we choose so we know when it is ready.
start dbus dbus-daemon --session --nofork --address="unix:path=$work/bus"
export DBUS_SESSION_BUS_ADDRESS="unix:path=$work/bus"
bus_ready() { [[ -S $work/bus ]]; }
waits 10 bus_ready || fail "dbus-daemon did not start within 10s"

# Secret Service: gnome-keyring, its login collection created and unlocked with an empty
# password (the newline matters: with empty stdin no collection is created).
start keyring sh -c "printf '\n' | exec gnome-keyring-daemon --foreground --unlock --components=secrets"
secrets_ready() {
    timeout 2 dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
}
waits 10 secrets_ready || fail "gnome-keyring did not provide the Secret Service within 10s"
}
