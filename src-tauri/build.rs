//! Build script: compiles `tauri.conf.json` and the capability files into the binary, and
//! declares the app's own commands.
//!
//! Declaring the commands here (`AppManifest::commands`) makes tauri-build generate one
//! `allow-<command>` permission per command. Capabilities can then grant the window exactly the
//! commands it needs by name, and any command not listed both here and in a capability is
//! refused at the IPC boundary, so a new command can never become reachable by accident.

/// Every `#[tauri::command]` in `src/commands/` and `src/events.rs`, by name. Keep in sync with `lib.rs`'s
/// `generate_handler!` and `capabilities/main.json`.
const COMMANDS: &[&str] = &[
    "vault_status",
    "vault_init",
    "vault_unlock",
    "app_info",
    "events_subscribe",
    "connections_list",
    "connection_show",
    "connection_reveal",
    "connection_copy",
    "connection_refresh",
    "connection_disconnect",
    "audit_list",
    "providers_list",
    "provider_info",
    "provider_configure",
    "provider_add_custom",
    "open_url",
    "connect_start",
    "connect_wait",
    "connect_open_again",
    "connect_cancel",
    "connect_paste",
    "credentials_add",
    "vault_export",
    "vault_import",
    "vault_lock",
    "vault_rekey",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
