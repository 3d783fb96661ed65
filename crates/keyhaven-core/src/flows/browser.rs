//! Opening the system browser: the `BROWSER` environment variable when set (the common
//! convention: a `:`-separated list of commands, `%s` replaced by the URL, else the URL appended),
//! else the platform opener: the `opener` crate (`xdg-open`, `open`, `start`) for the CLI, or the
//! front end's own (the desktop app passes tauri-plugin-opener's to [`open_with_platform`]).
//!
//! Only https URLs (or http on loopback, for local servers) are ever opened: the authorization
//! URL Keyhaven built itself. The browser is started detached; Keyhaven does not wait for it.

use std::process::{Command, Stdio};

use crate::catalog::check_endpoint_url;
use crate::error::{Error, Result};

/// Opens `url` in the person's browser.
pub fn open(url: &str) -> Result<()> {
    open_with_platform(url, platform_opener)
}

/// Opens `url` like [`open`], with `platform` (given the URL; its error is a reason in words)
/// as the opener when `BROWSER` is not set. The URL is checked and `BROWSER` honoured here, so
/// every front end opens the same URLs the same way. A reason that quotes the URL gets it
/// replaced: an authorization URL carries the flow's state.
pub fn open_with_platform(
    url: &str,
    platform: impl FnOnce(&str) -> std::result::Result<(), String>,
) -> Result<()> {
    opening(std::env::var("BROWSER").ok(), url, platform)
}

/// [`open_with_platform`] with the value of `BROWSER` given.
fn opening(
    browser: Option<String>,
    url: &str,
    platform: impl FnOnce(&str) -> std::result::Result<(), String>,
) -> Result<()> {
    check_endpoint_url(url).map_err(|e| Error::BadInput(format!("will not open {url}: {e}")))?;
    match browser.filter(|b| !b.trim().is_empty()) {
        Some(browser) => open_with(&browser, url),
        None => platform(url).map_err(|reason| Error::Browser {
            what: "opening the browser".into(),
            reason: reason.replace(url, "<the URL>"),
        }),
    }
}

/// The platform opener, without waiting for the browser: `xdg-open`'s generic fallback runs the
/// browser in the foreground and returns only when it exits, which would hold a sign-in (and a
/// desktop command) until the person closes the browser. A failure that shows within 2 s
/// (no opener, no handler) is reported; anything slower is a browser that started.
fn platform_opener(url: &str) -> std::result::Result<(), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = url.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(opener::open_browser(&owned).map_err(|e| e.to_string()));
    });
    match rx.recv_timeout(std::time::Duration::from_secs(2)) {
        Ok(Err(reason)) => Err(reason),
        Ok(Ok(())) | Err(_) => Ok(()),
    }
}

fn open_with(browser: &str, url: &str) -> Result<()> {
    let mut last = None;
    for candidate in browser.split(':').filter(|c| !c.trim().is_empty()) {
        let mut parts: Vec<String> = candidate.split_whitespace().map(str::to_string).collect();
        if parts.iter().any(|p| p.contains("%s")) {
            for p in &mut parts {
                *p = p.replace("%s", url);
            }
        } else {
            parts.push(url.to_string());
        }
        let (program, args) = parts.split_first().expect("non-empty candidate");
        match Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(mut child) => {
                // Reap it when it exits, so a long-running app collects no zombies.
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Err(e) => last = Some(format!("{program}: {e}")),
        }
    }
    Err(Error::Browser {
        what: "opening the browser from $BROWSER".into(),
        reason: last.unwrap_or_else(|| "BROWSER is empty".into()),
    })
}

/// Whether the system hands `dev.keyhaven:` links to a handler (SEC-49): `Some(false)` when it
/// surely does not, so a front end can say that the browser will not be able to bring a
/// deep-link sign-in back (the person then pastes the address into `keyhaven handle-url`);
/// `None` when this cannot be told here. Linux: `xdg-mime query default`.
pub fn deep_link_handler_registered() -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        let out = Command::new("xdg-mime")
            .args(["query", "default", "x-scheme-handler/dev.keyhaven"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        return Some(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
    }
    #[allow(unreachable_code)]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://as.example/authorize?state=s3cr3t-state";

    #[test]
    fn the_platform_opener_is_used_without_browser_and_its_reason_never_quotes_the_url() {
        let mut seen = None;
        opening(None, URL, |u| {
            seen = Some(u.to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.as_deref(), Some(URL));

        let err = opening(Some("  ".into()), URL, |u| {
            Err(format!("xdg-open {u}: no handler"))
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("xdg-open <the URL>: no handler"), "{err}");
        assert!(!err.contains("s3cr3t-state"), "{err}");
    }

    #[test]
    fn browser_wins_over_the_platform_opener_and_bad_urls_are_never_opened() {
        // `true` exists everywhere this runs and exits 0: BROWSER was used, the platform was not.
        opening(Some("true".into()), URL, |_| {
            panic!("the platform opener ran")
        })
        .unwrap();
        let err = opening(None, "javascript:alert(1)", |_| panic!("opened")).unwrap_err();
        assert!(matches!(err, Error::BadInput(_)), "{err}");
        let err = opening(Some("true".into()), "file:///etc/passwd", |_| {
            panic!("opened")
        });
        assert!(matches!(err, Err(Error::BadInput(_))));
    }
}
