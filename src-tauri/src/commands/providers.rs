//! Providers: the catalog with what is configured, one provider's details for the add-connection
//! and cloud-wizard screens, your own OAuth app, custom providers by discovery.
//!
//! Storing an OAuth app or adding a custom provider decides where sign-ins go, so both are
//! confirmed in a native dialog naming the provider and client id first (SEC-43).

use keyhaven_core::catalog::{CATEGORIES, Category};
use keyhaven_core::providers::{CustomProvider, ProviderInfo, ProviderSummary};
use keyhaven_core::secret::SecretBytes;
use tauri::State;

use crate::dialogs::{confirm, quoted};
use crate::error::CommandError;
use crate::state::AppState;

/// The catalog and custom providers.
#[tauri::command(async)]
pub fn providers_list(state: State<'_, AppState>) -> Result<Vec<ProviderSummary>, CommandError> {
    Ok(state.with_vault(|v| v.list_providers())?)
}

/// The catalog's categories, in the order the catalog shows its groups, with their labels
/// (`keyhaven_core::catalog::CATEGORIES`). Needs no vault.
#[tauri::command(async)]
pub fn catalog_categories() -> Result<Vec<Category>, CommandError> {
    Ok(CATEGORIES.to_vec())
}

/// Everything the screens show about one provider.
#[tauri::command(async)]
pub fn provider_info(state: State<'_, AppState>, id: String) -> Result<ProviderInfo, CommandError> {
    Ok(state.with_vault(|v| v.provider_info(&id))?)
}

/// Stores your own OAuth app for a provider, once the person confirmed it in a native dialog.
/// The secret comes in once and never goes out.
#[tauri::command]
pub async fn provider_configure(
    app: tauri::AppHandle,
    id: String,
    client_id: String,
    client_secret: Option<String>,
) -> Result<(), CommandError> {
    let secret = client_secret
        .filter(|s| !s.is_empty())
        .map(SecretBytes::from);
    super::blocking(&app, move |app, state| {
        let info = state.with_vault(|v| v.provider_info(&id))?;
        confirm(
            app,
            &configure_question(&info.name, &client_id, info.configured, secret.is_some()),
            "Save",
            "the OAuth app was not changed",
        )?;
        Ok(state.with_vault(|v| v.configure_provider(&id, &client_id, secret))?)
    })
    .await
}

/// The confirmation of `provider_configure`.
pub fn configure_question(
    provider_name: &str,
    client_id: &str,
    replacing: bool,
    with_secret: bool,
) -> String {
    let secret = if with_secret {
        " and the client secret you entered"
    } else {
        ""
    };
    let change = if replacing {
        format!("This replaces the OAuth app stored for {provider_name}: ")
    } else {
        String::new()
    };
    let client_id = quoted(client_id);
    format!(
        "Sign in to {provider_name} with the OAuth app whose client id is {client_id}?\n\n\
         {change}new sign-ins to {provider_name} go through this app{secret}."
    )
}

/// Adds a custom OAuth provider by discovery from its issuer, once the person confirmed it in a
/// native dialog naming the id, issuer and client id. For an id that exists, the dialog says
/// what redefining it changes (core's description: old and new server, which connections must
/// be connected again) and the provider is then replaced.
#[tauri::command]
pub async fn provider_add_custom(
    app: tauri::AppHandle,
    id: String,
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    scopes: Vec<String>,
) -> Result<ProviderSummary, CommandError> {
    super::blocking(&app, move |app, state| {
        let replacement =
            state.with_vault(|v| v.describe_provider_replacement(&id, Some(&issuer)))?;
        let question = match &replacement {
            Some(what) => replace_custom_question(what, &client_id),
            None => add_custom_question(&id, &issuer, &client_id),
        };
        let yes = if replacement.is_some() {
            "Replace provider"
        } else {
            "Add provider"
        };
        confirm(app, &question, yes, "no provider was added or changed")?;
        Ok(state.with_vault(|v| {
            let def = v.add_custom_provider(CustomProvider {
                id,
                issuer: Some(issuer),
                scopes,
                client_id: Some(client_id),
                client_secret: client_secret
                    .filter(|s| !s.is_empty())
                    .map(SecretBytes::from),
                // Only what the person just confirmed: had the id appeared since, core refuses.
                replace: replacement.is_some(),
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

/// The confirmation of a new custom provider.
pub fn add_custom_question(id: &str, issuer: &str, client_id: &str) -> String {
    format!(
        "Add the provider {} from the issuer {}, signing in with the client id {}?\n\n\
         Keyhaven reads its endpoints from the issuer; sign-ins to it go there.",
        quoted(id),
        quoted(issuer),
        quoted(client_id)
    )
}

/// The confirmation of redefining an existing custom provider, with core's description.
pub fn replace_custom_question(description: &str, client_id: &str) -> String {
    let what = crate::dialogs::plain(description);
    let mut chars = what.chars();
    let what = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => what,
    };
    let end = if what.ends_with('.') { "" } else { "." };
    format!(
        "Replace this provider?\n\n{what}{end}\n\nSign-ins to it would use the client id {}.",
        quoted(client_id)
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The UI groups the catalog by these, in this order, and every catalog entry's first
    /// category is one of them (so no entry falls outside a group).
    #[test]
    fn catalog_categories_are_cores_in_order_and_cover_the_catalog() {
        let cats = catalog_categories().unwrap();
        let ids: Vec<&str> = cats.iter().map(|c| c.id).collect();
        assert_eq!(ids, CATEGORIES.iter().map(|c| c.id).collect::<Vec<_>>());
        assert!(cats.iter().all(|c| !c.label.is_empty()));
        let json = serde_json::to_value(cats[0]).unwrap();
        assert_eq!(json["id"], cats[0].id);
        assert_eq!(json["label"], cats[0].label);
        for p in keyhaven_core::providers::catalog_summaries().unwrap() {
            let first = p.categories.first().map(String::as_str);
            assert!(
                first.is_some_and(|c| ids.contains(&c)),
                "{}: first category {first:?} is not a catalog category",
                p.id
            );
        }
    }

    #[test]
    fn the_configure_question_names_provider_and_client_id() {
        let q = configure_question("GitHub", "Iv1.abc", false, true);
        assert!(
            q.starts_with("Sign in to GitHub with the OAuth app whose client id is “Iv1.abc”?"),
            "{q}"
        );
        assert!(q.contains("client secret"), "{q}");
        assert!(!q.contains("replaces"), "{q}");
        let q = configure_question("GitHub", "Iv1.abc", true, false);
        assert!(
            q.contains("replaces the OAuth app stored for GitHub"),
            "{q}"
        );
    }

    #[test]
    fn the_replacement_question_says_cores_description() {
        let q = replace_custom_question(
            "provider corp is already defined (server https://a.example); redefining it points \
             new sign-ins at https://b.example",
            "kh",
        );
        assert!(
            q.starts_with("Replace this provider?\n\nProvider corp is already defined"),
            "{q}"
        );
        assert!(q.contains("https://b.example."), "{q}");
        assert!(q.ends_with("the client id “kh”."), "{q}");
    }

    #[test]
    fn the_custom_provider_question_names_id_issuer_and_client_id() {
        let q = add_custom_question("corp", "https://sso.example.com", "kh");
        assert!(
            q.contains("“corp”") && q.contains("“https://sso.example.com”") && q.contains("“kh”"),
            "{q}"
        );
    }
}
