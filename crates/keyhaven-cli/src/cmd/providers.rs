//! `keyhaven providers list|add|configure`: the catalog, custom providers, and the person's own
//! OAuth app (client id, and secret where the provider insists) for each.

use std::path::PathBuf;

use keyhaven_core::catalog::{AuthMode, RedirectKind};
use keyhaven_core::providers::CustomProvider;
use keyhaven_core::secret::SecretBytes;
use keyhaven_core::{Error, flows};

use super::{Ctx, RedirectArg, print_json};
use crate::error::CliResult;

/// `keyhaven providers ...`
#[derive(Debug, clap::Subcommand)]
pub enum ProvidersCommand {
    /// List catalog and custom providers, and whether your OAuth app is configured for each.
    List {
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
        ProvidersCommand::List { json } => {
            let vault = ctx.open_vault()?;
            let list = vault.list_providers()?;
            if json {
                return print_json(&list);
            }
            for p in &list {
                let redirects: Vec<_> = p.redirects.iter().map(|k| flows::kind_name(*k)).collect();
                println!(
                    "{:22} {:28} {:10} {}{}",
                    p.id,
                    p.name,
                    if p.configured { "configured" } else { "-" },
                    redirects.join(","),
                    if p.custom { "  (custom)" } else { "" }
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
            })?;
            if let Some(what) = replacing {
                eprintln!("Replaced: {what}.");
            }
            match def.auth_mode {
                AuthMode::Oauth2 => println!(
                    "Added provider {} (authorization endpoint {}).",
                    def.id,
                    def.authorization_url.as_deref().unwrap_or("-")
                ),
                _ => println!(
                    "Added provider {} (token endpoint {}); add an account with `keyhaven credentials add {}`.",
                    def.id,
                    def.token_url.as_deref().unwrap_or("-"),
                    def.id
                ),
            }
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
            println!("Stored your OAuth app for {provider}.");
            Ok(())
        }
    }
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
