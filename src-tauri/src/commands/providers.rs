//! Providers: the catalog with what is configured, one provider's details for the add-connection
//! and cloud-wizard screens, your own OAuth app, custom providers by discovery.

use keyhaven_core::providers::{CustomProvider, ProviderInfo, ProviderSummary};
use keyhaven_core::secret::SecretBytes;
use tauri::State;

use crate::error::CommandError;
use crate::state::AppState;

/// The catalog and custom providers.
#[tauri::command(async)]
pub fn providers_list(state: State<'_, AppState>) -> Result<Vec<ProviderSummary>, CommandError> {
    Ok(state.with_vault(|v| v.list_providers())?)
}

/// Everything the screens show about one provider.
#[tauri::command(async)]
pub fn provider_info(state: State<'_, AppState>, id: String) -> Result<ProviderInfo, CommandError> {
    Ok(state.with_vault(|v| v.provider_info(&id))?)
}

/// Stores your own OAuth app for a provider. The secret comes in once and never goes out.
#[tauri::command(async)]
pub fn provider_configure(
    state: State<'_, AppState>,
    id: String,
    client_id: String,
    client_secret: Option<String>,
) -> Result<(), CommandError> {
    let secret = client_secret
        .filter(|s| !s.is_empty())
        .map(SecretBytes::from);
    Ok(state.with_vault(|v| v.configure_provider(&id, &client_id, secret))?)
}

/// Adds a custom OAuth provider by discovery from its issuer.
#[tauri::command]
pub async fn provider_add_custom(
    app: tauri::AppHandle,
    id: String,
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    scopes: Vec<String>,
) -> Result<ProviderSummary, CommandError> {
    super::blocking(&app, move |_, state| {
        Ok(state.with_vault(|v| {
            let def = v.add_custom_provider(CustomProvider {
                id,
                issuer: Some(issuer),
                scopes,
                client_id: Some(client_id),
                client_secret: client_secret
                    .filter(|s| !s.is_empty())
                    .map(SecretBytes::from),
                ..Default::default()
            })?;
            v.list_providers()?
                .into_iter()
                .find(|p| p.id == def.id)
                .ok_or_else(|| keyhaven_core::Error::UnknownProvider {
                    id: def.id,
                    hint: String::new(),
                })
        })?)
    })
    .await
}

/// Opens a provider's documentation or console page (register, create-a-key, revoke by hand) in
/// the system browser. https only: the page cannot make the app open `file:`, `smb:` or any
/// other scheme (SEC-24, the CVE-2025-31477 class).
#[tauri::command(async)]
pub fn open_url(app: tauri::AppHandle, url: String) -> Result<(), CommandError> {
    let parsed = url::Url::parse(&url)
        .map_err(|_| keyhaven_core::Error::BadInput("not a valid address".into()))?;
    if parsed.scheme() != "https" {
        return Err(keyhaven_core::Error::BadInput(format!(
            "only https:// addresses are opened, not {}:",
            parsed.scheme()
        ))
        .into());
    }
    super::open_in_browser(&app, parsed.as_str())
}
