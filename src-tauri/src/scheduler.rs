//! The background refresher: every 30 s, on its own vault handle, refresh what core says is due
//! (expiring tokens, keep-alives) through the same single-flight path as `keyhaven token`, retry
//! pending revocations, and tell the person when a connection needs re-authentication.

use std::collections::BTreeSet;
use std::time::Duration;

use keyhaven_core::tokens;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::state::AppState;

/// Time between passes.
pub const PERIOD: Duration = Duration::from_secs(30);

/// Starts the scheduler thread.
pub fn start(app: &AppHandle) {
    let app = app.clone();
    std::thread::spawn(move || {
        let mut notified: BTreeSet<String> = BTreeSet::new();
        loop {
            std::thread::sleep(PERIOD);
            let Some(mut vault) = app.state::<AppState>().worker_vault() else {
                continue; // locked: nothing to do until it opens
            };
            let mut changed = false;
            if let Ok(results) = tokens::refresh_due(&mut vault) {
                for (due, outcome) in results {
                    changed = true;
                    if let Err(keyhaven_core::Error::NeedsReauth { provider, .. }) = outcome
                        && notified.insert(due.id.clone())
                    {
                        let _ = app
                            .notification()
                            .builder()
                            .title("Keyhaven: sign in again")
                            .body(format!(
                                "Your {provider} connection needs you to sign in again."
                            ))
                            .show();
                    }
                }
            }
            let _ = tokens::retry_revocations(&mut vault, false);
            if changed {
                crate::events::publish(&app, crate::events::UiEvent::ConnectionsChanged);
            }
        }
    });
}
