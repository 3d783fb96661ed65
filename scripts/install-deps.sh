#!/usr/bin/env bash
# Installs what Keyhaven needs on Debian 12 / Ubuntu, and nothing that is already there.
#
#   scripts/install-deps.sh build   # compile the CLI and the desktop app
#   scripts/install-deps.sh test    # build + what the tests run: Secret Service, Xvfb, Chromium...
#
# Runs `apt-get update` only when something is missing, so a second run costs a second. Needs
# root or sudo. Rust (cargo) and Node.js 20+ with npm are expected on PATH; the script says so
# plainly when they are not.
set -euo pipefail

mode=${1:-build}
build_pkgs=(build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev curl file)
test_pkgs=(dbus dbus-x11 gnome-keyring libsecret-tools xvfb xauth xdotool x11-utils imagemagick
           webkit2gtk-driver chromium xdg-utils desktop-file-utils util-linux age bsdutils xclip
           zsh fish man-db libglib2.0-bin
           # The real tools the credential helpers serve, and the registry skopeo pushes to.
           awscli skopeo docker-registry openssl)

pkgs=("${build_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")
# kubectl is not in Debian 12 main; a kubectl already on PATH (Google's or the Kubernetes
# project's package) is used as it is, else Debian's kubernetes-client (1.20: the tests then set
# the exec plugin up with apiVersion v1beta1).
[ "$mode" = test ] && ! command -v kubectl >/dev/null && pkgs+=(kubernetes-client)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "install-deps: cargo not found: install Rust 1.90+ (https://rustup.rs)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install-deps: npm not found: install Node.js 20+ with npm" >&2; exit 1; }

# The real-app end-to-end test drives the app through tauri-driver (WebDriver for Tauri, over
# Debian's WebKitWebDriver). Installed once into cargo's bin directory (~1 min).
if [ "$mode" = test ] && ! command -v tauri-driver >/dev/null; then
  echo "install-deps: installing tauri-driver (cargo install --locked)"
  cargo install tauri-driver --locked --version '^2' --quiet
fi
