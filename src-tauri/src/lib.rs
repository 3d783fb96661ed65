//! keyhaven-desktop: the Tauri shell around keyhaven-core.
//!
//! This crate is deliberately thin: it sets up logging, builds the [`AppState`] once, registers
//! the IPC commands of [`commands`] and hands over to Tauri. Every behaviour a person can trigger
//! is a call into `keyhaven_core`, so the CLI and the desktop app can never drift apart.
//!
//! Modules: [`commands`] (the IPC surface, one file per area), [`state`] (what the app holds
//! between calls: the data directory, the open vault, the UI's event channels, deep links kept
//! while locked), [`error`] (the `{code, message}` error every command returns), [`events`] (the
//! UI's updates, through its own channel: SEC-44), [`dialogs`] (native confirmations and file
//! dialogs: SEC-43), [`deeplink`], [`clipboard`] and [`scheduler`]. The UI's TypeScript types
//! are generated from this crate's and core's (`contract.rs`, a test module).

pub mod agent;
pub mod clipboard;
#[macro_use]
pub mod commands;
#[cfg(test)]
mod contract;
pub mod deeplink;
pub mod dialogs;
pub mod error;
pub mod events;
pub mod scheduler;
pub mod state;
#[cfg(test)]
mod test_support;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub use error::CommandError;
pub use state::AppState;

/// Environment variable holding the log filter (`tracing_subscriber` syntax), default `warn`.
pub const LOG_ENV: &str = "KEYHAVEN_LOG";

/// The variable WebKitGTK's JavaScript engine (JavaScriptCore) reads to turn its JIT compilers
/// off, and the value [`run`] gives it.
pub const JIT_ENV: (&str, &str) = ("JSC_useJIT", "0");

/// Runs the webview's JavaScript in JavaScriptCore's interpreter only, without its JIT compilers.
///
/// Why: the page is our own ~100 KB of UI code, which the interpreter runs fast enough, while JIT
/// compilers are where most JavaScript-engine exploits live; a vault's webview does not need
/// them (the reasoning of Apple's Lockdown Mode and Edge's enhanced security mode). It also
/// saves the web process about 6.6 MiB and two threads at idle (README, Performance). WebKit
/// hands its web processes our environment, so setting it here reaches them. A value already
/// set is left alone, to let a developer compare.
fn webview_without_jit() {
    #[cfg(target_os = "linux")]
    if std::env::var_os(JIT_ENV.0).is_none() {
        // SAFETY: called first in `run`, before Tauri, GTK, tracing or any other thread
        // exists, so nothing can read the environment while it changes.
        unsafe { std::env::set_var(JIT_ENV.0, JIT_ENV.1) };
    }
}

/// Starts the desktop app and blocks until its last window closes.
///
/// # Panics
///
/// When the Tauri runtime cannot start at all (no display, no WebKit): there is no window to
/// show an error in, so the panic message on stderr is the report.
pub fn run() {
    // First, while this is the only thread: the environment the WebKit processes inherit.
    webview_without_jit();
    // Same hardening as the CLI: no core dumps, no same-user debugger attach (SEC-26).
    keyhaven_core::harden_process();
    init_tracing();
    // A second launch by a deep link, with no session bus for single-instance to hand the link
    // over: finish the flow here and exit, without a window.
    if let Some(url) = std::env::args().skip(1).find(|a| deeplink::is_deep_link(a))
        && !session_bus_available()
    {
        std::process::exit(deeplink::finish_without_window(&url));
    }
    let state = AppState::from_env();
    tauri::Builder::default()
        // First: a second launch hands its deep link to this instance and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            use tauri::Manager;
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.set_focus();
            }
        }))
        // Its commands are not granted to the page, and its `deep-link://new-url` event (the
        // callback URL) cannot reach it: the capability grants no event permission (events.rs).
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        // Rust-only (commands::open_in_browser): no script injected into the page, whose links
        // go through our https-only `open_url` command.
        .plugin(
            tauri_plugin_opener::Builder::new()
                .open_js_links_on_click(false)
                .build(),
        )
        .manage(state)
        .setup(|app| {
            use tauri::Manager;
            use tauri_plugin_deep_link::DeepLinkExt;
            #[cfg(target_os = "linux")]
            if (cfg!(debug_assertions) || std::env::var_os("KEYHAVEN_REGISTER_HANDLER").is_some())
                && let Err(e) = deeplink::register_linux()
            {
                tracing::warn!(error = %e, "could not register the dev.keyhaven: handler");
            }
            let handle = app.handle().clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    deeplink::handle(&handle, url.to_string());
                }
            });
            // A cold start by a deep link: on_open_url does not fire for the launch URL.
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                for url in urls {
                    deeplink::handle(app.handle(), url.to_string());
                }
            }
            scheduler::start(app.handle());
            if let Some(dir) = app.state::<AppState>().data_dir_if_any() {
                agent::host(app.handle(), &dir);
            }
            Ok(())
        })
        // Every command of commands/list.rs, and no other.
        .invoke_handler(for_each_command!(handler))
        .run(tauri::generate_context!())
        .expect("the Keyhaven window could not be started");
}

/// `generate_handler!` over the commands of `commands/list.rs` (through `for_each_command!`).
macro_rules! handler {
    ($([$($module:ident)::+] $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        tauri::generate_handler![$($($module)::+::$name),*]
    };
}
use handler;

/// Whether a D-Bus session bus can be reached (what single-instance needs): the address in the
/// environment, or the systemd default socket.
fn session_bus_available() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty()) {
        return true;
    }
    #[cfg(unix)]
    {
        // SAFETY: getuid cannot fail and has no preconditions.
        let uid = unsafe { libc::getuid() };
        return std::path::Path::new(&format!("/run/user/{uid}/bus")).exists();
    }
    #[allow(unreachable_code)]
    false
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
