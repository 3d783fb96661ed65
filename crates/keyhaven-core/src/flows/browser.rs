//! Opening the system browser: the `BROWSER` environment variable when set (the common
//! convention: a `:`-separated list of commands, `%s` replaced by the URL, else the URL appended),
//! else the platform opener (`xdg-open`, `open`, `start` through the `opener` crate).
//!
//! Only https URLs (or http on loopback, for local servers) are ever opened: the authorization
//! URL Keyhaven built itself. The browser is started detached; Keyhaven does not wait for it.

use std::process::{Command, Stdio};

use crate::catalog::check_endpoint_url;
use crate::error::{Error, Result};

/// Opens `url` in the person's browser.
pub fn open(url: &str) -> Result<()> {
    check_endpoint_url(url).map_err(|e| Error::BadInput(format!("will not open {url}: {e}")))?;
    match std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
    {
        Some(browser) => open_with(&browser, url),
        None => open_with_platform_opener(url),
    }
}

/// The platform opener, without waiting for the browser: `xdg-open`'s generic fallback runs the
/// browser in the foreground and returns only when it exits, which would hold a sign-in (and a
/// desktop command) until the person closes the browser. A failure that shows within 2 s
/// (no opener, no handler) is reported; anything slower is a browser that started.
fn open_with_platform_opener(url: &str) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = url.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(opener::open_browser(&owned).map_err(|e| e.to_string()));
    });
    match rx.recv_timeout(std::time::Duration::from_secs(2)) {
        Ok(Err(reason)) => Err(Error::Http {
            what: "opening the browser".into(),
            reason,
        }),
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
    Err(Error::Http {
        what: "opening the browser from $BROWSER".into(),
        reason: last.unwrap_or_else(|| "BROWSER is empty".into()),
    })
}
