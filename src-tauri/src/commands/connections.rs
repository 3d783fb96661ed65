//! Connections: list, view offline, reveal or copy one field (audited), refresh, disconnect,
//! and the audit log. Every command is one call into keyhaven-core through the app state.

use keyhaven_core::connections::{ConnectionDetails, ConnectionSummary, RevealAction};
use keyhaven_core::tokens::{self, DisconnectReport};
use keyhaven_core::{Error, audit::AuditEvent};
use tauri::{AppHandle, Emitter, State};

use crate::error::CommandError;
use crate::state::AppState;

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
        )?;
        let secret = state.with_vault(|v| v.reveal_field(&id, &field, RevealAction::Copy))?;
        crate::clipboard::copy_and_clear_later(app, secret)
    })
    .await
}

/// A field's name as the dialog says it: `access_token` → "access token".
fn human(field: &str) -> String {
    field.replace('_', " ")
}

/// A native yes/no dialog, answered by the person (not by the page). It is the only
/// confirmation: the page asks nothing before calling (asking twice teaches clicking through).
fn confirm(app: &AppHandle, question: &str, yes_label: &str) -> Result<(), CommandError> {
    use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};
    let yes = app
        .dialog()
        .message(question)
        .title("Keyhaven")
        .kind(MessageDialogKind::Warning)
        .buttons(MessageDialogButtons::OkCancelCustom(
            yes_label.into(),
            "Cancel".into(),
        ))
        .blocking_show();
    if yes {
        Ok(())
    } else {
        Err(CommandError {
            code: "cancelled",
            message: "cancelled: nothing was shown or copied".into(),
        })
    }
}

/// Refreshes now (single-flight with every other process), on a worker handle so the window's
/// handle is not held across the network call.
#[tauri::command]
pub async fn connection_refresh(
    app: AppHandle,
    id: String,
) -> Result<ConnectionSummary, CommandError> {
    super::blocking(&app, move |app, state| {
        let mut worker = state
            .worker_vault()
            .ok_or(Error::BadInput("the vault is locked".into()))?;
        let outcome = tokens::refresh(&mut worker, &id);
        let _ = app.emit(crate::EVENT_CONNECTIONS_CHANGED, ());
        outcome?;
        Ok(worker
            .connection_summary(&id)?
            .ok_or(Error::BadInput(format!("no connection {id}")))?)
    })
    .await
}

/// Revokes at the provider (unless `keep_remote`), then deletes.
#[tauri::command]
pub async fn connection_disconnect(
    app: AppHandle,
    id: String,
    keep_remote: bool,
) -> Result<DisconnectReport, CommandError> {
    super::blocking(&app, move |app, state| {
        let mut worker = state
            .worker_vault()
            .ok_or(Error::BadInput("the vault is locked".into()))?;
        let report = tokens::disconnect(&mut worker, &id, keep_remote)?;
        let _ = app.emit(crate::EVENT_CONNECTIONS_CHANGED, ());
        Ok(report)
    })
    .await
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
