//! The cloud wizard's one command: add API-key or machine credentials, checked live. Secret
//! values come in over IPC (the person typed them) and go straight into core's secret type.

use std::collections::BTreeMap;

use keyhaven_core::credentials::{self, AddOptions, AddReport};
use keyhaven_core::secret::SecretBytes;
use tauri::AppHandle;

use crate::error::CommandError;

/// Adds (or updates) credentials for `provider`.
#[tauri::command]
pub async fn credentials_add(
    app: AppHandle,
    provider: String,
    values: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
    account: Option<String>,
    verify: bool,
) -> Result<AddReport, CommandError> {
    let values = values
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, SecretBytes::from(v)))
        .collect();
    let opts = AddOptions {
        verify,
        vars,
        scopes: vec![],
        account: account.filter(|a| !a.trim().is_empty()),
    };
    super::blocking(&app, move |app, state| {
        let report = state.with_vault(|v| credentials::add(v, &provider, values, &opts))?;
        crate::events::publish(app, crate::events::UiEvent::ConnectionsChanged);
        Ok(report)
    })
    .await
}
