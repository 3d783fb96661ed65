//! `dev.keyhaven:` deep links, handled in Rust only: the webview never sees a callback URL, code
//! or state. Every URL is validated by core's `flows::callback::parse` first and then goes to
//! core's `flows::complete`; the UI only hears "a flow finished" (with the flow's id, the state's
//! SHA-256) and "connections changed", through its own channel (`events.rs`, SEC-44).
//!
//! Three ways a link arrives: `on_open_url` while the app runs (single-instance forwards a
//! second launch's URL here), `get_current()` for the URL the app was launched with (cold start:
//! `on_open_url` does not fire for it), and, with no session bus (no single-instance), a second
//! launch that finishes the flow itself and exits (`finish_without_window`).
//!
//! While a passphrase vault is locked (SEC-46), a valid link is kept in memory, at most
//! [`MAX_DEFERRED_LINKS`] of them (the oldest is dropped, and logged without the URL), and
//! finished when `vault_unlock` opens the vault ([`finish_deferred`]). A link that does not parse
//! is refused at once and never kept.
//!
//! Registration on Linux writes our own `.desktop` handler instead of the plugin's, because the
//! plugin quotes the `Exec` path and Debian 12's `xdg-open` then fails to run it: the path is
//! written unquoted when it needs no quoting, escaped per the Desktop Entry spec when it does.
//! The entry is named as the plugin names its own (`<executable>-handler.desktop`), so the
//! plugin's `is_registered` recognises it ([`handler_registered`], SEC-49).

use std::collections::VecDeque;

use keyhaven_core::flows;
use tauri::{AppHandle, Manager};
use zeroize::Zeroizing;

use crate::events::{UiEvent, publish};
use crate::state::{AppState, LinkOutcome};

/// The URL scheme.
pub const SCHEME: &str = "dev.keyhaven";

/// How many deep links are kept while a passphrase vault is locked.
pub const MAX_DEFERRED_LINKS: usize = 8;

/// Whether a command-line argument is one of our deep links.
pub fn is_deep_link(arg: &str) -> bool {
    arg.to_ascii_lowercase().starts_with("dev.keyhaven:")
}

/// A deep link that core's parser accepted (size, shape, state, code or error), with its flow
/// id. Only this type can be queued. `Debug` prints the flow id, never the URL.
pub struct CallbackLink {
    url: Zeroizing<String>,
    flow_id: String,
}

impl CallbackLink {
    /// Validates `url` with core's `flows::callback::parse`.
    pub fn parse(url: String) -> keyhaven_core::Result<Self> {
        let url = Zeroizing::new(url);
        if !is_deep_link(&url) {
            return Err(keyhaven_core::Error::BadRedirect {
                reason: "is not a dev.keyhaven: link".into(),
            });
        }
        let params = flows::callback::parse(&url)?;
        Ok(CallbackLink {
            flow_id: flows::pending::state_digest(&params.state),
            url,
        })
    }

    /// The URL, for core's `flows::complete`.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The flow's id (the state's SHA-256), what the UI's waiting screen knows.
    pub fn flow_id(&self) -> &str {
        &self.flow_id
    }
}

impl std::fmt::Debug for CallbackLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackLink")
            .field("flow_id", &self.flow_id)
            .finish_non_exhaustive()
    }
}

/// The links kept while the vault is locked: bounded, oldest first.
#[derive(Debug, Default)]
pub struct DeferredLinks(VecDeque<CallbackLink>);

impl DeferredLinks {
    /// Keeps `link`; when [`MAX_DEFERRED_LINKS`] are already kept, drops and returns the oldest.
    pub fn push(&mut self, link: CallbackLink) -> Option<CallbackLink> {
        let dropped = if self.0.len() >= MAX_DEFERRED_LINKS {
            self.0.pop_front()
        } else {
            None
        };
        self.0.push_back(link);
        dropped
    }

    /// Every kept link, oldest first; the queue is empty afterwards.
    pub fn take(&mut self) -> Vec<CallbackLink> {
        self.0.drain(..).collect()
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Finishes the flow a deep link belongs to, on a worker thread; tells the UI the outcome.
pub fn handle(app: &AppHandle, url: String) {
    if !is_deep_link(&url) {
        return;
    }
    let link = match CallbackLink::parse(url) {
        Ok(link) => link,
        Err(e) => {
            // Refused before anything is kept or the vault is touched; core's message never
            // echoes the URL, its code or its state.
            tracing::warn!(error = %e, "refused a deep link");
            publish(app, UiEvent::flow_failed(None, e.to_string()));
            return;
        }
    };
    let app = app.clone();
    std::thread::spawn(move || finish(&app, link));
}

/// Finishes the links kept while the vault was locked (after `vault_unlock`), on a worker thread.
pub fn finish_deferred(app: &AppHandle) {
    let links = app.state::<AppState>().take_deferred_links();
    if links.is_empty() {
        return;
    }
    tracing::debug!(
        count = links.len(),
        "finishing sign-in links kept while locked"
    );
    let app = app.clone();
    std::thread::spawn(move || {
        for link in links {
            finish(&app, link);
        }
    });
}

/// One link: finish its flow (or keep it while locked), then tell the UI.
fn finish(app: &AppHandle, link: CallbackLink) {
    let flow_id = Some(link.flow_id().to_string());
    let event = match app.state::<AppState>().complete_or_defer(link) {
        LinkOutcome::Deferred => return,
        LinkOutcome::Finished(Ok(connection)) => UiEvent::flow_done(flow_id, connection),
        LinkOutcome::Finished(Err(e)) => UiEvent::flow_failed(flow_id, e.to_string()),
    };
    publish(app, event);
    publish(app, UiEvent::ConnectionsChanged);
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.set_focus();
    }
}

/// Whether this app is the system's handler for `dev.keyhaven:` links (SEC-49), by the
/// deep-link plugin's `is_registered`. `None` where the plugin cannot tell (macOS: the bundle
/// declares the scheme) or the check itself failed; the UI only warns on `Some(false)`.
///
/// On Linux the plugin only recognises the entry the app writes itself (`register_linux`); the
/// .deb installs its own entry under another name, so a `false` is checked once more: is the
/// default handler's entry one that runs this executable?
pub fn handler_registered(app: &AppHandle) -> Option<bool> {
    use tauri_plugin_deep_link::DeepLinkExt;
    match app.deep_link().is_registered(SCHEME) {
        Ok(true) => Some(true),
        #[cfg(target_os = "linux")]
        Ok(false) => Some(default_handler_runs_this_app()),
        #[cfg(not(target_os = "linux"))]
        Ok(false) => Some(false),
        Err(e) => {
            tracing::debug!(error = %e, "could not tell whether dev.keyhaven: is registered");
            None
        }
    }
}

/// Whether `xdg-mime`'s default `dev.keyhaven:` handler is a desktop entry whose `Exec` program
/// has this executable's file name (the .deb's entry runs `keyhaven-desktop` from PATH).
#[cfg(target_os = "linux")]
fn default_handler_runs_this_app() -> bool {
    let Ok(out) = std::process::Command::new("xdg-mime")
        .args(["query", "default", &format!("x-scheme-handler/{SCHEME}")])
        .output()
    else {
        return false;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(entry) = stdout.lines().next().map(str::trim) else {
        return false;
    };
    if entry.is_empty() || entry.contains('/') {
        return false;
    }
    let Some(exe) = std::env::current_exe().ok() else {
        return false;
    };
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| dirs_home().map(|h| h.join(".local/share")));
    let data_dirs = std::env::var("XDG_DATA_DIRS")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    let dirs = data_home
        .into_iter()
        .chain(data_dirs.split(':').map(std::path::PathBuf::from));
    for dir in dirs {
        if let Ok(text) = std::fs::read_to_string(dir.join("applications").join(entry)) {
            return exec_program(&text).is_some_and(|program| {
                std::path::Path::new(&program).file_name() == exe.file_name()
            });
        }
    }
    false
}

/// The program of a desktop entry's `Exec=` line (its first argument, unquoted and unescaped).
pub fn exec_program(entry: &str) -> Option<String> {
    let line = entry.lines().find_map(|l| l.strip_prefix("Exec="))?.trim();
    if let Some(quoted) = line.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                '"' => return Some(out),
                c => out.push(c),
            }
        }
        None
    } else {
        line.split_whitespace().next().map(str::to_string)
    }
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
    let name = handler_entry_name(&exe);
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName=Keyhaven\nExec={} %u\nTerminal=false\nNoDisplay=true\nMimeType=x-scheme-handler/{SCHEME};\n",
        desktop_exec_arg(&exe.to_string_lossy())
    );
    std::fs::write(apps.join(&name), entry)?;
    let _ = std::process::Command::new("update-desktop-database")
        .arg(&apps)
        .status();
    let _ = std::process::Command::new("xdg-mime")
        .args(["default", &name, &format!("x-scheme-handler/{SCHEME}")])
        .status();
    Ok(())
}

/// The handler entry's file name: `<executable>-handler.desktop`, what the deep-link plugin's
/// `is_registered` compares `xdg-mime query default` with.
pub fn handler_entry_name(exe: &std::path::Path) -> String {
    let file = exe
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keyhaven-desktop".into());
    format!("{file}-handler.desktop")
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

    fn link(state: &str) -> String {
        format!("dev.keyhaven:/oauth/callback/testas?code=c0de&state={state}")
    }

    #[test]
    fn a_link_is_validated_by_core_before_it_can_be_kept() {
        let ok = CallbackLink::parse(link("s1")).unwrap();
        assert_eq!(ok.flow_id(), flows::pending::state_digest("s1"));
        let debug = format!("{ok:?}");
        assert!(!debug.contains("c0de") && !debug.contains("s1&"), "{debug}");

        for bad in [
            "dev.keyhaven:/oauth/callback/testas".to_string(), // no query
            "dev.keyhaven:/oauth/callback/testas?code=x".to_string(), // no state
            "dev.keyhaven:/oauth/callback/testas?state=s".to_string(), // neither code nor error
            "dev.keyhaven:/oauth/callback?code=x&state=s".to_string(), // no provider in the path
            "dev.keyhaven:/oauth/callback/testas?code=x&state=s#f".into(), // fragment
            format!("{}&pad={}", link("s"), "a".repeat(9000)), // over 8 KiB
            "https://example.com/oauth/callback?code=x&state=s".into(),
        ] {
            let e = CallbackLink::parse(bad).unwrap_err();
            assert_eq!(crate::CommandError::from(e).code, "bad_redirect");
        }
    }

    #[test]
    fn the_queue_keeps_the_newest_eight() {
        let mut q = DeferredLinks::default();
        for i in 0..MAX_DEFERRED_LINKS {
            assert!(
                q.push(CallbackLink::parse(link(&format!("s{i}"))).unwrap())
                    .is_none()
            );
        }
        let dropped = q
            .push(CallbackLink::parse(link("s-last")).unwrap())
            .unwrap();
        assert_eq!(dropped.flow_id(), flows::pending::state_digest("s0"));
        assert_eq!(q.len(), MAX_DEFERRED_LINKS);
        let kept: Vec<String> = q.take().iter().map(|l| l.flow_id().to_string()).collect();
        assert_eq!(kept[0], flows::pending::state_digest("s1"));
        assert_eq!(kept[7], flows::pending::state_digest("s-last"));
        assert!(q.is_empty());
    }

    #[test]
    fn handler_entries_are_named_as_the_plugin_looks_for_them() {
        assert_eq!(
            handler_entry_name(std::path::Path::new("/opt/k/keyhaven-desktop")),
            "keyhaven-desktop-handler.desktop"
        );
    }

    #[test]
    fn exec_programs_are_read_bare_or_quoted() {
        assert_eq!(
            exec_program("[Desktop Entry]\nName=K\nExec=keyhaven-desktop %u\n").as_deref(),
            Some("keyhaven-desktop")
        );
        assert_eq!(
            exec_program("Exec=\"/home/a b/\\$x/keyhaven-desktop\" %u").as_deref(),
            Some("/home/a b/$x/keyhaven-desktop")
        );
        assert_eq!(exec_program("Name=K"), None);
    }

    #[test]
    fn only_our_scheme_is_a_deep_link() {
        assert!(is_deep_link("dev.keyhaven:/oauth/callback?code=x"));
        assert!(is_deep_link("DEV.KEYHAVEN:/oauth/callback"));
        assert!(!is_deep_link("https://example.com"));
        assert!(!is_deep_link("--flag"));
    }
}
