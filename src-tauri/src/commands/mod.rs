//! The IPC surface: every command the UI can call, one file per area.
//!
//! Each command is a few lines: take the [`AppState`](crate::AppState), call core through it,
//! return `Result<T, CommandError>`. A command must also be listed once in [`list.rs`](list.rs)
//! (its name, the arguments the UI sends and its result: build.rs, `generate_handler!` and the
//! UI's generated contract all read that list) and granted in `capabilities/main.json`, or the
//! webview cannot call it; tests in `contract.rs` hold the three together.

#[macro_use]
mod list;

pub mod connect;
pub mod connections;
pub mod credentials;
pub mod mcp;
pub mod providers;
pub mod settings;
pub mod tools;
pub mod vault;

use tauri::{AppHandle, Manager};

use crate::error::CommandError;
use crate::state::AppState;

/// Opens `url` in the system browser. Core checks the URL and honours `BROWSER` exactly as for
/// the CLI; without it, tauri-plugin-opener opens it (detached: the command does not wait for the
/// browser). The plugin's own commands are not granted to the webview.
pub(crate) fn open_in_browser(app: &AppHandle, url: &str) -> Result<(), CommandError> {
    use tauri_plugin_opener::OpenerExt;
    Ok(keyhaven_core::flows::browser::open_with_platform(
        url,
        |u| {
            app.opener()
                .open_url(u, None::<&str>)
                .map_err(|e| e.to_string())
        },
    )?)
}

/// Runs `f` on Tauri's blocking thread pool. Core is synchronous and its network calls use
/// reqwest's blocking client, which must never run on an async worker thread (it would panic
/// when its inner runtime is dropped there); every command that may touch the network goes
/// through here.
pub(crate) async fn blocking<T: Send + 'static>(
    app: &AppHandle,
    f: impl FnOnce(&AppHandle, &AppState) -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || f(&app, &app.state::<AppState>()))
        .await
        .map_err(|e| CommandError {
            code: CommandError::IPC,
            message: format!("the operation stopped unexpectedly: {e}"),
        })?
}
