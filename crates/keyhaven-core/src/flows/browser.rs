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
        None => opener::open_browser(url).map_err(|e| Error::Http {
            what: "opening the browser".into(),
            reason: e.to_string(),
        }),
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
