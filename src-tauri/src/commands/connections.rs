//! Connections: list, view offline, reveal or copy one field (audited), refresh, disconnect,
//! and the audit log. Every command is one call into keyhaven-core through the app state; reveal,
//! copy and disconnect first ask the person in a native dialog (SEC-23, SEC-43).

use keyhaven_core::connections::{ConnectionDetails, ConnectionSummary, RevealAction};
use keyhaven_core::tokens;
use keyhaven_core::{Error, audit::AuditEvent};
use tauri::{AppHandle, State};

use crate::dialogs::{confirm, quoted};
use crate::error::CommandError;
use crate::events::{UiEvent, publish};
use crate::state::AppState;

/// What a declined reveal or copy did.
const NOT_SHOWN: &str = "nothing was shown or copied";

/// Every connection: no secret, no network.
#[tauri::command(async)]
pub fn connections_list(
    state: State<'_, AppState>,
) -> Result<Vec<ConnectionSummary>, CommandError> {
    Ok(state.with_vault(|v| v.list_connections())?)
}

/// One connection, offline, secrets masked.
#[tauri::command(async)]
pub fn connection_show(
    state: State<'_, AppState>,
    id: String,
) -> Result<ConnectionDetails, CommandError> {
    Ok(state.with_vault(|v| v.connection_details(&id, false))?)
}

/// The value of one field, because the person pressed Reveal and confirmed it in a native
/// dialog (SEC-23: a script in the webview cannot click that). Audited with actor `desktop`. The
/// only command that sends a secret to the webview.
#[tauri::command]
pub async fn connection_reveal(
    app: AppHandle,
    id: String,
    field: String,
) -> Result<String, CommandError> {
    // The dialog blocks until answered: on the blocking pool, never an async worker.
    super::blocking(&app, move |app, state| {
        confirm(
            app,
            &format!(
                "Show the {} of this connection on screen? It is hidden again after 30 seconds \
                 and recorded in the audit log.\n\nMake sure nobody is looking at or recording \
                 your screen.",
                human(&field)
            ),
            "Show",
            NOT_SHOWN,
        )?;
        let secret = state.with_vault(|v| v.reveal_field(&id, &field, RevealAction::Show))?;
        Ok(String::from_utf8_lossy(secret.expose_secret()).into_owned())
    })
    .await
}

/// Copies one field to the clipboard from Rust (the value never crosses IPC), and clears the
/// clipboard after 30 s if it still holds that value. Audited.
#[tauri::command]
pub async fn connection_copy(
    app: AppHandle,
    id: String,
    field: String,
) -> Result<(), CommandError> {
    super::blocking(&app, move |app, state| {
        confirm(
            app,
            &format!(
                "Copy the {} of this connection to the clipboard? The clipboard is cleared \
                 after 30 seconds, and the copy is recorded in the audit log.",
                human(&field)
            ),
            "Copy",
            NOT_SHOWN,
        )?;
        let secret = state.with_vault(|v| v.reveal_field(&id, &field, RevealAction::Copy))?;
        crate::clipboard::copy_and_clear_later(secret)
    })
    .await
}

/// A field's name as the dialog says it: `access_token` → "access token".
fn human(field: &str) -> String {
    field.replace('_', " ")
}

/// Refreshes now (single-flight with every other process), on a worker handle so the window's
/// handle is not held across the network call.
#[tauri::command]
pub async fn connection_refresh(
    app: AppHandle,
    id: String,
) -> Result<ConnectionSummary, CommandError> {
    super::blocking(&app, move |app, state| {
        let mut worker = state.worker_vault().ok_or(Error::VaultLocked)?;
        let outcome = tokens::refresh(&mut worker, &id);
        publish(app, UiEvent::ConnectionsChanged);
        outcome?;
        Ok(worker
            .connection_summary(&id)?
            .ok_or(Error::NoSuchConnection { id: id.to_string() })?)
    })
    .await
}

/// Revokes at the provider (unless `keep_remote`), then deletes, once the person confirmed it
/// in a native dialog naming the provider, the account and what happens at the provider.
#[tauri::command]
pub async fn connection_disconnect(
    app: AppHandle,
    id: String,
    keep_remote: bool,
) -> Result<tokens::DisconnectReport, CommandError> {
    super::blocking(&app, move |app, state| {
        let (summary, provider_name) = state.with_vault(|v| {
            let summary = v
                .connection_summary(&id)?
                .ok_or_else(|| Error::NoSuchConnection { id: id.to_string() })?;
            let name = v
                .provider_info(&summary.provider)
                .map(|p| p.name)
                .unwrap_or_else(|_| summary.provider.clone());
            Ok((summary, name))
        })?;
        confirm(
            app,
            &disconnect_question(&summary, &provider_name, keep_remote),
            "Disconnect",
            "nothing was disconnected",
        )?;
        let mut worker = state.worker_vault().ok_or(Error::VaultLocked)?;
        let report = tokens::disconnect(&mut worker, &id, keep_remote)?;
        publish(app, UiEvent::ConnectionsChanged);
        Ok(report)
    })
    .await
}

/// The disconnect confirmation: which connection, and whether its access ends at the provider.
pub fn disconnect_question(
    summary: &ConnectionSummary,
    provider_name: &str,
    keep_remote: bool,
) -> String {
    let who = quoted(if summary.account.is_empty() {
        &summary.id
    } else {
        &summary.account
    });
    let remote = if keep_remote {
        format!(
            "It is only deleted here: its tokens are NOT revoked and stay valid at \
             {provider_name} until they expire or you revoke them there."
        )
    } else {
        format!(
            "Keyhaven first revokes its tokens at {provider_name}, so nothing copied elsewhere \
             keeps working, then deletes it here."
        )
    };
    format!("Disconnect {who} from {provider_name}?\n\n{remote}")
}

/// The audit log, newest first (of one connection when given).
#[tauri::command(async)]
pub fn audit_list(
    state: State<'_, AppState>,
    connection: Option<String>,
) -> Result<Vec<AuditEvent>, CommandError> {
    let mut events = state.with_vault(|v| v.audit_events(connection.as_deref()))?;
    events.reverse();
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(account: &str) -> ConnectionSummary {
        crate::test_support::summary("github", account)
    }

    #[test]
    fn the_disconnect_question_names_provider_account_and_what_happens_remotely() {
        let revoke = disconnect_question(&summary("alice"), "GitHub", false);
        assert!(
            revoke.starts_with("Disconnect “alice” from GitHub?"),
            "{revoke}"
        );
        assert!(revoke.contains("revokes its tokens at GitHub"), "{revoke}");
        let keep = disconnect_question(&summary(""), "GitHub", true);
        assert!(
            keep.starts_with("Disconnect “c_0123456789abcdef” from GitHub?"),
            "{keep}"
        );
        assert!(keep.contains("NOT revoked"), "{keep}");
    }
}
