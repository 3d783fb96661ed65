//! The IPC surface: every command the UI can call, one file per area (STYLE.md 11).
//!
//! Each command is a few lines: take the [`AppState`](crate::AppState), call core through it,
//! return `Result<T, CommandError>`. A command must also be listed in `build.rs` and granted in
//! `capabilities/main.json`, or the webview cannot call it.

pub mod connect;
pub mod connections;
pub mod credentials;
pub mod providers;
pub mod settings;
pub mod vault;
