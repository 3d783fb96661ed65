//! keyhaven-desktop: the Tauri shell around keyhaven-core.
//!
//! This crate is deliberately thin (STYLE.md 2, 3, 11): it sets up logging, builds the
//! [`AppState`] once, registers the IPC commands of [`commands`] and hands over to Tauri. Every
//! behaviour a person can trigger is a call into `keyhaven_core`, so the CLI and the desktop app
//! can never drift apart.
//!
//! Modules: [`commands`] (the IPC surface, one file per area), [`state`] (what the app holds
//! between calls: the data directory and the open vault), [`error`] (the `{code, message}` error
//! every command returns).

pub mod commands;
pub mod error;
pub mod state;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub use error::CommandError;
pub use state::AppState;

/// Environment variable holding the log filter (`tracing_subscriber` syntax), default `warn`.
pub const LOG_ENV: &str = "KEYHAVEN_LOG";

/// Starts the desktop app and blocks until its last window closes.
///
/// # Panics
///
/// When the Tauri runtime cannot start at all (no display, no WebKit): there is no window to
/// show an error in, so the panic message on stderr is the report.
pub fn run() {
    // Same hardening as the CLI: no core dumps, no same-user debugger attach (SEC-26).
    keyhaven_core::harden_process();
    init_tracing();
    let state = AppState::from_env();
    tauri::Builder::default()
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::vault::vault_status,
            commands::vault::vault_init,
            commands::vault::vault_unlock,
        ])
        .run(tauri::generate_context!())
        .expect("the Keyhaven window could not be started");
}

/// Logs to stderr, filtered by `KEYHAVEN_LOG` (default `warn`). Nothing logged by this crate or
/// by core carries a secret.
fn init_tracing() {
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("warn"));
    // `try_init`: a second initialisation (tests) is harmless, not a crash.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
