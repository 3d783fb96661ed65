#!/usr/bin/env bash
# compress-deb.sh DIR: repacks each .deb in DIR with xz (dpkg-deb -Zxz -z9) instead of the gzip
# that `tauri build` 2.12 always uses (its deb bundler has no compression setting yet).
#
# Why: the package carries two release binaries (the app and the `keyhaven` CLI, ~12 MB each,
# both linking all of core) and the download should stay under 10 MB; xz roughly halves what
# gzip leaves of machine code. dpkg has read xz packages since Debian 6, so nothing changes for
# whoever installs it. The contents are unpacked and packed again unchanged (file modes kept,
# root:root ownership as dpkg-deb gives it), and check-deb.sh checks the result.
set -euo pipefail
dir=${1:?usage: $0 BUNDLE_DEB_DIR}
shopt -s nullglob
debs=("$dir"/*.deb)
((${#debs[@]})) || { echo "compress-deb: no .deb in $dir" >&2; exit 1; }
for deb in "${debs[@]}"; do
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    dpkg-deb -R "$deb" "$tmp/root"
    before=$(stat -c %s "$deb")
    dpkg-deb --root-owner-group -Zxz -z9 -b "$tmp/root" "$tmp/out.deb" >/dev/null
    mv "$tmp/out.deb" "$deb"
    rm -rf "$tmp"
    trap - EXIT
    echo "compress-deb: $(basename "$deb"): $before -> $(stat -c %s "$deb") bytes (xz)"
done
