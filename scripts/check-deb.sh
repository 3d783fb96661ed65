#!/usr/bin/env bash
# check-deb.sh DIR: checks the .deb that `tauri build --bundles deb` wrote in DIR: it contains the
# app binary and a desktop entry that declares the dev.keyhaven: scheme handler with an Exec line
# Debian 12's xdg-open can run (no quoted program path), and prints its size (target < 10 MB).
set -euo pipefail
dir=${1:?usage: $0 BUNDLE_DEB_DIR}
deb=$(ls -t "$dir"/*.deb 2>/dev/null | head -n 1)
[[ -n $deb ]] || { echo "check-deb: FAIL: no .deb in $dir" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
bin=$(find "$tmp/usr/bin" -type f -name 'keyhaven*' | head -n 1)
[[ -x $bin ]] || { echo "check-deb: FAIL: no keyhaven binary under /usr/bin" >&2; exit 1; }
desktop=$(find "$tmp/usr/share/applications" -name '*.desktop' | head -n 1)
[[ -n $desktop ]] || { echo "check-deb: FAIL: no desktop entry" >&2; exit 1; }
grep -q '^MimeType=.*x-scheme-handler/dev\.keyhaven' "$desktop" ||
    { echo "check-deb: FAIL: $(basename "$desktop") does not declare x-scheme-handler/dev.keyhaven" >&2; cat "$desktop" >&2; exit 1; }
exec_line=$(grep -m1 '^Exec=' "$desktop")
[[ $exec_line != Exec=\"* ]] || { echo "check-deb: FAIL: quoted Exec path breaks Debian 12's xdg-open: $exec_line" >&2; exit 1; }
[[ $exec_line == *%u* || $exec_line == *%U* ]] ||
    { echo "check-deb: FAIL: the Exec line does not pass the URL (%u): $exec_line" >&2; exit 1; }
size=$(stat -c %s "$deb")
echo "check-deb: ok: $(basename "$deb"), $((size / 1024)) KiB, $(basename "$desktop"): $exec_line, scheme handler declared"
