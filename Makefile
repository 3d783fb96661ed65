# Keyhaven: two commands do all the set-up on a fresh Debian 12 / Ubuntu machine.
#
#   make run    installs build packages, builds the UI and the desktop app, launches it
#   make test   installs build + test packages, runs every test (what .ci/run runs)
#
# Cargo's target directory lives outside the clone, so clones and CI runs reuse one build.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/keyhaven/target
CARGO ?= cargo
APP := $(CARGO_TARGET_DIR)/debug/keyhaven-desktop
CLI := $(CARGO_TARGET_DIR)/debug/keyhaven

.PHONY: run test deps-build deps-test ui oauth-server build bench deb clean-ui

run: deps-build ui
	$(CARGO) build -p keyhaven-desktop -p keyhaven-cli
	$(APP)

test: deps-test ui oauth-server
	$(CARGO) build --workspace --all-targets --features keyhaven-cli/fault-injection
	scripts/run-tests.sh

deps-build:
	scripts/install-deps.sh build

deps-test:
	scripts/install-deps.sh test

# npm ci only when package-lock.json changed since the last install.
ui/node_modules/.installed: ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
	touch $@

ui: ui/node_modules/.installed
	cd ui && npm run build

# The real OAuth server the end-to-end tests run (oidc-provider, pinned in its package-lock).
tests/oauth-server/node_modules/.installed: tests/oauth-server/package-lock.json
	cd tests/oauth-server && npm ci --no-audit --no-fund
	touch $@

oauth-server: tests/oauth-server/node_modules/.installed

build: deps-build ui
	$(CARGO) build --workspace

# The Debian package (release build, ~15 min the first time on 2 cores), then a check that it
# installs the app and declares the dev.keyhaven: scheme handler in a form xdg-open can run.
deb: deps-build ui
	cd src-tauri && npx --yes @tauri-apps/cli@2.12.5 build --bundles deb
	scripts/check-deb.sh "$(CARGO_TARGET_DIR)/release/bundle/deb"

bench: deps-test oauth-server ui
	$(CARGO) bench -p keyhaven-core --bench vault_open
	$(CARGO) bench -p keyhaven-core --bench connect_flow
	$(CARGO) bench -p keyhaven-core --bench tokens
	$(CARGO) bench -p keyhaven-core --bench refresh_many
	scripts/bench-cli.sh
	scripts/bench-desktop.sh

clean-ui:
	rm -rf ui/node_modules ui/dist tests/oauth-server/node_modules
