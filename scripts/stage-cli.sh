#!/usr/bin/env bash
# stage-cli.sh [OUT_DIR]: builds the release `keyhaven` CLI and puts it in OUT_DIR (default
# src-tauri/cli-dist, git-ignored) with what the CLI generates about itself:
#
#   keyhaven        the release front binary (cargo build --release -p keyhaven-cli;
#                   CARGO_TARGET_DIR honoured, else ./target) -> /usr/bin/keyhaven
#   keyhaven-main   the whole CLI the front hands commands to -> /usr/lib/keyhaven/keyhaven-main
#   keyhaven-agent.socket, keyhaven-agent.service (packaging/systemd) -> /usr/lib/systemd/user/
#   keyhaven.bash   `keyhaven completions bash`   -> /usr/share/bash-completion/completions/keyhaven
#   _keyhaven       `keyhaven completions zsh`    -> /usr/share/zsh/vendor-completions/_keyhaven
#   keyhaven.fish   `keyhaven completions fish`   -> /usr/share/fish/vendor_completions.d/
#   keyhaven.1.gz   `keyhaven man`, gzip -9n      -> /usr/share/man/man1/
#
# Why: the desktop app's package must install the CLI too: README and docs/design.md send people to
# `keyhaven` (e.g. `keyhaven handle-url` when a browser cannot hand a sign-in back to the app), and
# scripts and tools use the same vault through it. src-tauri/tauri.conf.json runs
# this as build.beforeBundleCommand (after the app is compiled, before bundling, so the package is
# complete from a clean clone with nothing pre-generated) and maps these files into the .deb with
# bundle.linux.deb.files; `make install` installs the same files.
#
# Not bundle.externalBin: tauri-build copies sidecars at every cargo build of the app, debug ones
# and clippy included, into the profile directory, so the file would have to exist before any
# build, and its copy would overwrite $CARGO_TARGET_DIR/<profile>/keyhaven, the CLI that cargo
# builds there and the tests run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/src-tauri/cli-dist}")
if [[ -n ${CARGO_TARGET_DIR:-} ]]; then
    CARGO_TARGET_DIR=$(realpath -m "$CARGO_TARGET_DIR")
    export CARGO_TARGET_DIR
fi
target_dir=${CARGO_TARGET_DIR:-$root/target}

# Tauri passes the triple it builds for; generating the completions runs the binary, so only a
# build for this machine can be staged.
host=$(rustc -vV | sed -n 's/^host: //p')
triple=${TAURI_ENV_TARGET_TRIPLE:-$host}
if [[ $triple != "$host" ]]; then
    echo "stage-cli: cannot stage a CLI for $triple on $host (it is run to generate completions)" >&2
    exit 1
fi

cd "$root"
cargo build --release -p keyhaven-cli
bin=$target_dir/release/keyhaven
main=$target_dir/release/keyhaven-main
for b in "$bin" "$main"; do
    [[ -x $b ]] || { echo "stage-cli: $b was not built" >&2; exit 1; }
done

# Everything is written to a temporary directory first and moved into place at the end, so a
# failed run never leaves a half-written file for the bundler to package.
mkdir -p "$out"
tmp=$(mktemp -d "$out/.staging.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
install -m 0755 "$bin" "$tmp/keyhaven"
install -m 0755 "$main" "$tmp/keyhaven-main"
install -m 0644 packaging/systemd/keyhaven-agent.socket packaging/systemd/keyhaven-agent.service "$tmp/"
"$tmp/keyhaven" completions bash >"$tmp/keyhaven.bash"
"$tmp/keyhaven" completions zsh >"$tmp/_keyhaven"
"$tmp/keyhaven" completions fish >"$tmp/keyhaven.fish"
"$tmp/keyhaven" man | gzip -9n >"$tmp/keyhaven.1.gz"
chmod 0644 "$tmp/keyhaven.bash" "$tmp/_keyhaven" "$tmp/keyhaven.fish" "$tmp/keyhaven.1.gz"
for f in keyhaven keyhaven-main keyhaven.bash _keyhaven keyhaven.fish keyhaven.1.gz \
    keyhaven-agent.socket keyhaven-agent.service; do
    mv -f "$tmp/$f" "$out/$f"
done
echo "stage-cli: $("$out/keyhaven" --version), completions and man page in $out"
