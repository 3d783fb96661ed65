//! `keyhaven providers list|add|configure`: the catalog, custom providers, and the person's own
//! OAuth app (client id, and secret where the provider insists) for each.

use std::path::PathBuf;

use keyhaven_core::Error;
use keyhaven_core::catalog::{AuthMode, RedirectKind};
use keyhaven_core::providers::CustomProvider;
use keyhaven_core::secret::SecretBytes;

use super::{Ctx, RedirectArg, print_json};
use crate::error::CliResult;

/// `keyhaven providers ...`
#[derive(Debug, clap::Subcommand)]
pub enum ProvidersCommand {
    /// List catalog and custom providers, and whether your OAuth app is configured for each
    /// (works before `keyhaven init`: then the catalog alone).
    List {
        /// Only providers of this category (e.g. cloud, dev-tools, productivity).
        #[arg(long, value_name = "C")]
        category: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Everything about one provider: how it signs in, the redirect URIs to register, scopes,
    /// variables, credential fields, the environment variables its tools read.
    Show {
        /// Provider id.
        provider: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a custom provider, or your OAuth app for a catalog provider. Refused while
    /// connections use it, unless --force.
    Remove {
        /// Provider id.
        provider: String,
        /// Remove it even though connections use it (they cannot refresh or revoke until it is
        /// defined or configured again).
        #[arg(long)]
        force: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a custom OAuth provider, by discovery (RFC 8414, then OpenID Connect) from --issuer,
    /// or with explicit endpoints. http:// is accepted only for loopback hosts.
    Add(AddArgs),
    /// Store your own OAuth app (client id, and secret if the provider requires one) for a
    /// catalog provider.
    Configure {
        /// Provider id (see `keyhaven providers list`).
        provider: String,
        /// Your app's client id.
        #[arg(long)]
        client_id: String,
        /// Read the client secret from FILE (never on the command line).
        #[arg(long, value_name = "FILE")]
        client_secret_file: Option<PathBuf>,
    },
}

/// Arguments of `keyhaven providers add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Id for the new provider (lowercase letters, digits, '-').
    #[arg(long)]
    id: String,
    /// Issuer URL; its metadata supplies the endpoints.
    #[arg(long)]
    issuer: Option<String>,
    /// Your app's client id at that provider (browser sign-in; machine grants take theirs per
    /// connection in `keyhaven credentials add`).
    #[arg(long)]
    client_id: Option<String>,
    /// The grant: browser sign-in (default), client credentials, or the legacy password grant.
    #[arg(long, value_enum, default_value_t = AuthModeArg::Browser)]
    auth_mode: AuthModeArg,
    /// Read the client secret from FILE.
    #[arg(long, value_name = "FILE")]
    client_secret_file: Option<PathBuf>,
    /// Default scope (repeat for several).
    #[arg(long = "scope", value_name = "S")]
    scopes: Vec<String>,
    /// Default redirect kind.
    #[arg(long, value_enum)]
    redirect: Option<RedirectArg>,
    /// Authorization endpoint (instead of discovery).
    #[arg(long)]
    authorization_url: Option<String>,
    /// Token endpoint (instead of discovery).
    #[arg(long)]
    token_url: Option<String>,
    /// Userinfo endpoint, to name the account.
    #[arg(long)]
    userinfo_url: Option<String>,
    /// Revocation endpoint (RFC 7009).
    #[arg(long)]
    revocation_url: Option<String>,
    /// Print the new provider as JSON.
    #[arg(long)]
    json: bool,
    /// Redefine a custom provider that already exists. Its connections are not re-pointed: they
    /// keep talking only to the server that issued them, so they must be connected again.
    #[arg(long)]
    replace: bool,
}

/// `--auth-mode` of a custom provider.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AuthModeArg {
    /// Authorization Code + PKCE in the browser.
    Browser,
    /// Client credentials grant: a machine client is the account.
    ClientCredentials,
    /// Resource owner password grant (legacy).
    Password,
}

impl From<AuthModeArg> for AuthMode {
    fn from(a: AuthModeArg) -> Self {
        match a {
            AuthModeArg::Browser => AuthMode::Oauth2,
            AuthModeArg::ClientCredentials => AuthMode::Oauth2ClientCredentials,
            AuthModeArg::Password => AuthMode::Oauth2Password,
        }
    }
}

/// Runs a `keyhaven providers` subcommand.
pub fn run(ctx: &Ctx, cmd: ProvidersCommand) -> CliResult {
    match cmd {
        ProvidersCommand::List { category, json } => {
            let mut list = match ctx.open_vault_if_any()? {
                Some(vault) => vault.list_providers()?,
                None => keyhaven_core::providers::catalog_summaries()?,
            };
            if let Some(c) = &category {
                let c = c.to_ascii_lowercase();
                if keyhaven_core::catalog::category(&c).is_none() {
                    let all = keyhaven_core::catalog::CATEGORIES.iter().map(|c| c.id);
                    return Err(Error::BadInput(format!(
                        "no category {c:?}{}; the categories are {}",
                        keyhaven_core::suggest::hint(&c, all.clone()),
                        all.collect::<Vec<_>>().join(", ")
                    ))
                    .into());
                }
                list.retain(|p| p.categories.contains(&c));
            }
            if json {
                return print_json(&list);
            }
            let rows: Vec<[String; 6]> = list
                .iter()
                .map(|p| {
                    let redirects: Vec<_> = p.redirects.iter().map(|k| k.as_str()).collect();
                    [
                        p.id.clone(),
                        p.name.clone(),
                        format!(
                            "{}{}",
                            p.auth_mode.as_str(),
                            if p.custom { " (custom)" } else { "" }
                        ),
                        if p.configured { "yes" } else { "-" }.into(),
                        redirects.join(","),
                        p.categories.join(","),
                    ]
                })
                .collect();
            super::list::print_table(
                &["ID", "NAME", "AUTH", "YOUR APP", "REDIRECTS", "CATEGORIES"],
                &rows,
            )
        }
        ProvidersCommand::Show { provider, json } => {
            let info = match ctx.open_vault_if_any()? {
                Some(vault) => vault.provider_info(&provider)?,
                None => keyhaven_core::providers::catalog_provider_info(&provider)?,
            };
            if json {
                return print_json(&info);
            }
            show(&info)
        }
        ProvidersCommand::Remove {
            provider,
            force,
            json,
        } => {
            let mut vault = ctx.open_vault()?;
            let removed = vault.remove_provider(&provider, force)?;
            if json {
                return print_json(&removed);
            }
            if removed.custom {
                outln!("Removed the custom provider {}.", removed.id)?;
            } else {
                outln!(
                    "Removed your OAuth app{} for {}.",
                    removed
                        .client_id
                        .as_deref()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default(),
                    removed.id
                )?;
            }
            if removed.connections_left > 0 {
                eprintln!(
                    "{} connection(s) still use it and cannot be refreshed or revoked until it \
                     is back.",
                    removed.connections_left
                );
            }
            Ok(())
        }
        ProvidersCommand::Add(a) => {
            let mut vault = ctx.open_vault()?;
            let replacing = if a.replace {
                vault.describe_provider_replacement(&a.id, a.issuer.as_deref())?
            } else {
                None
            };
            let def = vault.add_custom_provider(CustomProvider {
                id: a.id,
                issuer: a.issuer,
                authorization_url: a.authorization_url,
                token_url: a.token_url,
                userinfo_url: a.userinfo_url,
                revocation_url: a.revocation_url,
                scopes: a.scopes,
                redirect: a.redirect.map(RedirectKind::from),
                client_id: a.client_id,
                client_secret: read_secret_file(a.client_secret_file)?,
                auth_mode: Some(a.auth_mode.into()),
                replace: a.replace,
                resource: None,
                catalog_entry: None,
            })?;
            if let Some(what) = replacing {
                eprintln!("Replaced: {what}.");
            }
            if a.json {
                return print_json(&vault.provider_info(&def.id)?);
            }
            match def.auth_mode {
                AuthMode::Oauth2 => outln!(
                    "Added provider {} (authorization endpoint {}).",
                    def.id,
                    def.authorization_url.as_deref().unwrap_or("-")
                ),
                _ => outln!(
                    "Added provider {} (token endpoint {}); add an account with `keyhaven credentials add {}`.",
                    def.id,
                    def.token_url.as_deref().unwrap_or("-"),
                    def.id
                ),
            }?;
            Ok(())
        }
        ProvidersCommand::Configure {
            provider,
            client_id,
            client_secret_file,
        } => {
            let mut vault = ctx.open_vault()?;
            let secret = read_secret_file(client_secret_file)?;
            vault.configure_provider(&provider, &client_id, secret)?;
            outln!("Stored your OAuth app for {provider}.")?;
            Ok(())
        }
    }
}

/// `providers show` in text.
fn show(p: &keyhaven_core::providers::ProviderInfo) -> CliResult {
    outln!("{} ({})", p.name, p.id)?;
    outln!(
        "  Signs in with  {}{}",
        p.auth_mode.describe(),
        if p.legacy { " (legacy)" } else { "" }
    )?;
    if !p.categories.is_empty() {
        outln!("  Categories     {}", p.categories.join(", "))?;
    }
    outln!("  Docs           {}", p.docs_url)?;
    for (what, url) in [
        ("Issuer", &p.issuer),
        ("Authorize at", &p.authorization_url),
        ("Token at", &p.token_url),
        ("Revoke at", &p.revocation_url),
    ] {
        if let Some(url) = url {
            outln!("  {what:14} {url}")?;
        }
    }
    if let Some(u) = &p.register_url {
        outln!("  Register at    {u}")?;
    }
    if p.auth_mode == AuthMode::Oauth2 {
        outln!(
            "  Your app       {}",
            match &p.client_id {
                Some(id) => format!("configured (client id {id})"),
                None => format!(
                    "not configured: `keyhaven providers configure {} --client-id ID{}`",
                    p.id,
                    if p.client_secret_required {
                        " --client-secret-file F"
                    } else {
                        ""
                    }
                ),
            }
        )?;
        for (kind, uri) in &p.redirect_uris {
            outln!("  Redirect URI   {uri}  ({kind}; register it with your app)")?;
        }
        if !p.scopes.is_empty() {
            outln!("  Scopes         {}", p.scopes.join(" "))?;
        }
    }
    for v in &p.variables {
        outln!(
            "  Variable       --var {}=...  {} (e.g. {}{})",
            v.name,
            v.label,
            v.example,
            v.default
                .as_deref()
                .map(|d| format!("; default {d}"))
                .unwrap_or_default()
        )?;
    }
    for f in &p.fields {
        outln!(
            "  Field          {}  {}{}{}",
            f.name,
            f.label,
            if f.secret { " (secret)" } else { "" },
            if f.optional { " (optional)" } else { "" }
        )?;
    }
    if !p.env.is_empty() {
        outln!("  Tools read     {}", p.env.join(" "))?;
    }
    Ok(())
}

/// Reads a secret from a file named on the command line (a trailing newline is dropped).
fn read_secret_file(path: Option<PathBuf>) -> CliResult<Option<SecretBytes>> {
    let Some(path) = path else { return Ok(None) };
    let mut text = std::fs::read_to_string(&path).map_err(|e| {
        Error::BadInput(format!(
            "cannot read the client secret file {}: {e}",
            path.display()
        ))
    })?;
    while text.ends_with('\n') || text.ends_with('\r') {
        text.pop();
    }
    if text.is_empty() {
        return Err(Error::BadInput(format!(
            "the client secret file {} is empty",
            path.display()
        ))
        .into());
    }
    Ok(Some(SecretBytes::from(text)))
}
