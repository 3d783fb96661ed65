#!/usr/bin/env bash
# check-deb.sh DIR: checks the .deb that `tauri build --bundles deb` wrote in DIR: it contains the
# app binary and a desktop entry that declares the dev.keyhaven: scheme handler with an Exec line
# Debian 12's xdg-open can run (no quoted program path); the `keyhaven` CLI beside the app (it runs
# from the extracted tree), its bash, zsh and fish completions and its gzipped man page (staged by
# scripts/stage-cli.sh); that its data is xz-packed (scripts/compress-deb.sh); and prints its size (target < 10 MB).
set -euo pipefail
dir=${1:?usage: $0 BUNDLE_DEB_DIR}
deb=$(ls -t "$dir"/*.deb 2>/dev/null | head -n 1)
[[ -n $deb ]] || { echo "check-deb: FAIL: no .deb in $dir" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
# The app by its own name: with the CLI beside it, "any keyhaven* binary" would no longer say so.
bin=$tmp/usr/bin/keyhaven-desktop
[[ -f $bin && -x $bin ]] || { echo "check-deb: FAIL: no executable /usr/bin/keyhaven-desktop (the app)" >&2; exit 1; }
desktop=$(find "$tmp/usr/share/applications" -name '*.desktop' | head -n 1)
[[ -n $desktop ]] || { echo "check-deb: FAIL: no desktop entry" >&2; exit 1; }
grep -q '^MimeType=.*x-scheme-handler/dev\.keyhaven' "$desktop" ||
    { echo "check-deb: FAIL: $(basename "$desktop") does not declare x-scheme-handler/dev.keyhaven" >&2; cat "$desktop" >&2; exit 1; }
exec_line=$(grep -m1 '^Exec=' "$desktop")
[[ $exec_line != Exec=\"* ]] || { echo "check-deb: FAIL: quoted Exec path breaks Debian 12's xdg-open: $exec_line" >&2; exit 1; }
[[ $exec_line == *%u* || $exec_line == *%U* ]] ||
    { echo "check-deb: FAIL: the Exec line does not pass the URL (%u): $exec_line" >&2; exit 1; }

fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }
cli=$tmp/usr/bin/keyhaven
[[ -f $cli && -x $cli ]] || fail "no executable /usr/bin/keyhaven (the CLI)"
cli_version=$("$cli" --version 2>&1) || fail "/usr/bin/keyhaven --version failed: $cli_version"
[[ $cli_version == "keyhaven "* ]] || fail "/usr/bin/keyhaven --version printed: $cli_version"
# The front binary answers from the agent and hands everything else to keyhaven-main, which the
# package keeps out of PATH (crates/keyhaven-cli/src/front.rs); --version above went through it.
[[ -x $tmp/usr/lib/keyhaven/keyhaven-main ]] || fail "no executable /usr/lib/keyhaven/keyhaven-main"
for unit in keyhaven-agent.socket keyhaven-agent.service; do
  [[ -s $tmp/usr/lib/systemd/user/$unit ]] || fail "no /usr/lib/systemd/user/$unit"
done
grep -q '^ListenStream=%t/keyhaven/agent.sock' "$tmp/usr/lib/systemd/user/keyhaven-agent.socket" ||
  fail "keyhaven-agent.socket does not listen on %t/keyhaven/agent.sock"
completion() { # completion PATH PATTERN: the file is in the package and looks like its shell's
  [[ -s $tmp$1 ]] || fail "no $1"
  grep -q -- "$2" "$tmp$1" || fail "$1 does not contain '$2'"
}
completion /usr/share/bash-completion/completions/keyhaven 'complete -F _keyhaven'
completion /usr/share/zsh/vendor-completions/_keyhaven '^#compdef keyhaven'
completion /usr/share/fish/vendor_completions.d/keyhaven.fish 'complete -c keyhaven'
man=$tmp/usr/share/man/man1/keyhaven.1.gz
[[ -f $man ]] || fail "no /usr/share/man/man1/keyhaven.1.gz"
gzip -t "$man" 2>/dev/null || fail "keyhaven.1.gz is not gzip"
# (A process substitution: with pipefail, grep -q quitting early could fail the whole pipeline.)
grep -q '^\.TH keyhaven 1' <(zcat "$man" | head -n 10) || fail "keyhaven.1.gz has no .TH keyhaven 1 in its first lines"

# Packed with xz by scripts/compress-deb.sh (tauri's bundler writes gzip, which leaves it > 10 MB).
ar t "$deb" | grep -qx 'data.tar.xz' || fail "the data member is not xz ($(ar t "$deb" | tr '\n' ' ')): run scripts/compress-deb.sh"
size=$(stat -c %s "$deb")
echo "check-deb: ok: $(basename "$deb"), $((size / 1024)) KiB, $(basename "$desktop"): $exec_line, scheme handler declared; $cli_version (front + keyhaven-main), agent socket units, bash/zsh/fish completions, man page"
