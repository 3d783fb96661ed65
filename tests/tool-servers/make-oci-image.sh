#!/bin/sh
# Writes a tiny, valid OCI image layout (image-spec 1.0) into DIR, tagged "latest":
#   DIR/oci-layout, DIR/index.json, DIR/blobs/sha256/{layer tar.gz, config, manifest}
# The one layer holds one file, /keyhaven.txt, with TEXT (default "keyhaven test image").
# The result is reproducible (fixed mtimes and owners, gzip -n): same TEXT, same digests.
#
#   tests/tool-servers/make-oci-image.sh DIR [TEXT]
#   skopeo copy --dest-tls-verify=false oci:DIR:latest docker://127.0.0.1:PORT/keyhaven/test:latest
#
# Prints the manifest digest (sha256:...) on stdout. Needs sh, tar, gzip, sha256sum.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 DIR [TEXT]" >&2
  exit 2
fi
dir=$1
text=${2:-keyhaven test image}

mkdir -p "$dir/blobs/sha256"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c <"$1" | tr -d ' '; }
put() { # put FILE -> moves it into blobs, prints its hex digest
  d=$(sha "$1")
  mv "$1" "$dir/blobs/sha256/$d"
  echo "$d"
}

# Layer: one regular file, owned by root, fixed mtime.
mkdir "$work/rootfs"
printf '%s\n' "$text" >"$work/rootfs/keyhaven.txt"
chmod 0644 "$work/rootfs/keyhaven.txt"
tar --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  --sort=name --mtime='2025-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
  -C "$work/rootfs" -cf "$work/layer.tar" keyhaven.txt
diff_id=$(sha "$work/layer.tar")
gzip -n -9 -c "$work/layer.tar" >"$work/layer.tar.gz"
layer_size=$(size "$work/layer.tar.gz")
layer=$(put "$work/layer.tar.gz")

# Image configuration.
printf '%s' "{\"created\":\"2025-01-01T00:00:00Z\",\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"/keyhaven.txt\"],\"Labels\":{\"org.opencontainers.image.title\":\"keyhaven-test\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]},\"history\":[{\"created\":\"2025-01-01T00:00:00Z\",\"created_by\":\"make-oci-image.sh\"}]}" >"$work/config.json"
config_size=$(size "$work/config.json")
config=$(put "$work/config.json")

# Manifest.
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config\",\"size\":$config_size},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer\",\"size\":$layer_size}]}" >"$work/manifest.json"
manifest_size=$(size "$work/manifest.json")
manifest=$(put "$work/manifest.json")

printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest\",\"size\":$manifest_size,\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}" >"$dir/index.json"

echo "sha256:$manifest"
