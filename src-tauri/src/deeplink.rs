//! `dev.keyhaven:` deep links, handled in Rust only (SECURITY.md B): the webview never sees a
//! callback URL, code or state. Every URL goes to core's `flows::complete`, which validates it
//! strictly; the UI only hears "a flow finished" (`flow-finished`) and "connections changed".
//!
//! Three ways a link arrives: `on_open_url` while the app runs (single-instance forwards a
//! second launch's URL here), `get_current()` for the URL the app was launched with (cold start:
//! `on_open_url` does not fire for it), and, with no session bus (no single-instance), a second
//! launch that finishes the flow itself and exits (`finish_without_window`).
//!
//! Registration on Linux writes our own `.desktop` handler instead of the plugin's, because the
//! plugin quotes the `Exec` path and Debian 12's `xdg-open` then fails to run it (STACK-NOTES):
//! the path is written unquoted when it needs no quoting, escaped per the Desktop Entry spec when
//! it does.

use keyhaven_core::flows;
use tauri::{AppHandle, Emitter, Manager};

use crate::state::AppState;

/// The URL scheme.
pub const SCHEME: &str = "dev.keyhaven";

/// Whether a command-line argument is one of our deep links.
pub fn is_deep_link(arg: &str) -> bool {
    arg.to_ascii_lowercase().starts_with("dev.keyhaven:")
}

/// Finishes the flow a deep link belongs to, on a worker thread; tells the UI the outcome.
pub fn handle(app: &AppHandle, url: String) {
    if !is_deep_link(&url) {
        return;
    }
    let app = app.clone();
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        // The flow's id (its state's digest) lets the waiting screen match the event exactly.
        let flow_id = flows::callback::parse(&url)
            .ok()
            .map(|p| flows::pending::state_digest(&p.state));
        let outcome = state.with_vault(|v| flows::complete(v, &url));
        let payload = match outcome {
            Ok(connection) => {
                serde_json::json!({"state": "done", "connection": connection, "flow_id": flow_id})
            }
            Err(keyhaven_core::Error::PassphraseRequired { .. }) => {
                // Locked passphrase vault: finish once it is unlocked.
                state.defer_link(url);
                return;
            }
            Err(e) => {
                serde_json::json!({"state": "failed", "message": e.to_string(), "flow_id": flow_id})
            }
        };
        let _ = app.emit(crate::EVENT_FLOW_FINISHED, payload);
        let _ = app.emit(crate::EVENT_CONNECTIONS_CHANGED, ());
        if let Some(w) = app.get_webview_window("main") {
            let _ = w.set_focus();
        }
    });
}

/// A second launch with a deep link but no session bus (so no single-instance to hand it to):
/// finish the flow here, with the same vault, and say so on stderr. Returns the exit code.
pub fn finish_without_window(url: &str) -> i32 {
    let dir = match keyhaven_core::DataDir::from_env() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("keyhaven-desktop: {e}");
            return 1;
        }
    };
    let outcome = keyhaven_core::Vault::open(
        &dir,
        &mut keyhaven_core::NoPassphrase,
        keyhaven_core::Actor::Desktop,
    )
    .and_then(|mut v| flows::complete(&mut v, url));
    match outcome {
        Ok(c) => {
            eprintln!(
                "keyhaven-desktop: connected {} as {}",
                c.provider, c.account
            );
            0
        }
        Err(e) => {
            eprintln!("keyhaven-desktop: {e}");
            1
        }
    }
}

/// Registers this binary as the `dev.keyhaven:` handler for the current user (Linux, debug
/// builds and first runs of an unpackaged build; the .deb's own desktop file declares it too).
#[cfg(target_os = "linux")]
pub fn register_linux() -> std::io::Result<()> {
    let exe = std::env::current_exe()?;
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| dirs_home().map(|h| h.join(".local/share")))
        .ok_or_else(|| std::io::Error::other("no XDG_DATA_HOME or HOME"))?;
    let apps = data.join("applications");
    std::fs::create_dir_all(&apps)?;
    let name = "dev.keyhaven-handler.desktop";
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName=Keyhaven\nExec={} %u\nTerminal=false\nNoDisplay=true\nMimeType=x-scheme-handler/{SCHEME};\n",
        desktop_exec_arg(&exe.to_string_lossy())
    );
    std::fs::write(apps.join(name), entry)?;
    let _ = std::process::Command::new("update-desktop-database")
        .arg(&apps)
        .status();
    let _ = std::process::Command::new("xdg-mime")
        .args(["default", name, &format!("x-scheme-handler/{SCHEME}")])
        .status();
    Ok(())
}

#[cfg(target_os = "linux")]
fn dirs_home() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(std::path::PathBuf::from)
}

/// An `Exec=` program argument: bare when it contains only characters that need no quoting
/// (what Debian 12's xdg-open parses correctly), else double-quoted with `"`, `` ` ``, `$` and
/// `\` escaped as the Desktop Entry spec says.
pub fn desktop_exec_arg(path: &str) -> String {
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,".contains(c));
    if plain {
        return path.to_string();
    }
    let mut out = String::from("\"");
    for c in path.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_paths_are_bare_when_possible_and_escaped_otherwise() {
        assert_eq!(
            desktop_exec_arg("/usr/bin/keyhaven-desktop"),
            "/usr/bin/keyhaven-desktop"
        );
        assert_eq!(desktop_exec_arg("/home/a b/$x/k"), "\"/home/a b/\\$x/k\"");
    }

    #[test]
    fn only_our_scheme_is_a_deep_link() {
        assert!(is_deep_link("dev.keyhaven:/oauth/callback?code=x"));
        assert!(is_deep_link("DEV.KEYHAVEN:/oauth/callback"));
        assert!(!is_deep_link("https://example.com"));
        assert!(!is_deep_link("--flag"));
    }
}
