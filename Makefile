# Keyhaven: two commands do all the set-up on a fresh Debian 12 / Ubuntu machine.
#
#   make run    installs build packages, builds the UI and the desktop app, launches it
#   make test   installs build + test packages, runs every test (what .ci/run runs)
#   make deb    the Debian package (app, CLI, completions, man page), checked
#   make generated  rewrites ui/src/lib/api/generated.ts (the UI's IPC types) from the Rust types
#   make icons  rewrites ui/src/lib/icons/brands.generated.ts (the catalog's brand icons)
#   make install  the CLI and the app into $(PREFIX)/bin (default ~/.local), completions and man
#               page under $(PREFIX)/share
#
# Cargo's target directory lives outside the clone, so clones and CI runs reuse one build.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/keyhaven/target
CARGO ?= cargo
APP := $(CARGO_TARGET_DIR)/debug/keyhaven-desktop
CLI := $(CARGO_TARGET_DIR)/debug/keyhaven
PREFIX ?= $(HOME)/.local
# Where scripts/stage-cli.sh leaves the release CLI, its completions and man page (git-ignored).
STAGED := src-tauri/cli-dist

.PHONY: run test deps-build deps-test ui oauth-server mcp-server build bench deb install clean-ui generated icons

run: deps-build ui
	$(CARGO) build -p keyhaven-desktop -p keyhaven-cli
	$(APP)

test: deps-test ui oauth-server mcp-server
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

# The remote MCP server and client the mcp-proxy tests run (the official MCP TypeScript SDK,
# pinned in its package-lock).
tests/mcp-server/node_modules/.installed: tests/mcp-server/package-lock.json
	cd tests/mcp-server && npm ci --no-audit --no-fund
	touch $@

mcp-server: tests/mcp-server/node_modules/.installed

build: deps-build ui
	$(CARGO) build --workspace

# The Debian package (release build, ~15 min the first time on 2 cores), then a check that it
# installs the app and declares the dev.keyhaven: scheme handler in a form xdg-open can run, and
# installs the CLI with its completions and man page (tauri.conf.json's beforeBundleCommand runs
# scripts/stage-cli.sh, and bundle.linux.deb.files puts what it staged in the package).
deb: deps-build ui
	cd src-tauri && npx --yes @tauri-apps/cli@2.12.5 build --bundles deb
	scripts/compress-deb.sh "$(CARGO_TARGET_DIR)/release/bundle/deb"
	scripts/check-deb.sh "$(CARGO_TARGET_DIR)/release/bundle/deb"

# The UI's TypeScript contract (types, error codes, command names), generated from the Rust types
# by a test of the desktop crate (src-tauri/src/contract.rs); `cargo test` fails while the
# checked-in file differs. It needs the built UI (tauri's generate_context! embeds ui/dist).
generated: ui
	KEYHAVEN_UPDATE_GENERATED=1 $(CARGO) test -p keyhaven-desktop --lib generated_ts

# The brand icons the catalog files name (`icon = "slug"`), from the pinned simple-icons package
# (ui/scripts/icons.mjs). `make test` fails while the checked-in module is stale (`npm run check`)
# or a slug is not in simple-icons (also `npm run build`).
icons: ui/node_modules/.installed
	cd ui && npm run --silent icons

# Release builds of both binaries into $(DESTDIR)$(PREFIX)/bin, the CLI's completions and man page
# under share/ (zsh: share/zsh/site-functions, on zsh's default $$fpath for /usr/local). The default
# PREFIX needs no root: ~/.local/bin is on PATH in Debian's default profile, man finds
# ~/.local/share/man from it, bash-completion and fish look in ~/.local/share.
install: deps-build ui
	$(CARGO) build --release -p keyhaven-desktop
	scripts/stage-cli.sh
	install -Dm755 $(CARGO_TARGET_DIR)/release/keyhaven-desktop $(DESTDIR)$(PREFIX)/bin/keyhaven-desktop
	install -Dm755 $(STAGED)/keyhaven $(DESTDIR)$(PREFIX)/bin/keyhaven
	install -Dm755 $(STAGED)/keyhaven-main $(DESTDIR)$(PREFIX)/lib/keyhaven/keyhaven-main
	install -Dm644 $(STAGED)/keyhaven.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/keyhaven
	install -Dm644 $(STAGED)/_keyhaven $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_keyhaven
	install -Dm644 $(STAGED)/keyhaven.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/keyhaven.fish
	install -Dm644 $(STAGED)/keyhaven.1.gz $(DESTDIR)$(PREFIX)/share/man/man1/keyhaven.1.gz

bench: deps-test oauth-server mcp-server ui
	$(CARGO) bench -p keyhaven-core --bench vault_open
	$(CARGO) bench -p keyhaven-core --bench connect_flow
	$(CARGO) bench -p keyhaven-core --bench tokens
	$(CARGO) bench -p keyhaven-core --bench refresh_many
	$(CARGO) bench -p keyhaven-core --bench catalog
	scripts/bench-cli.sh
	scripts/bench-mcp.sh
	scripts/bench-desktop.sh

clean-ui:
	rm -rf ui/node_modules ui/dist tests/oauth-server/node_modules tests/mcp-server/node_modules
