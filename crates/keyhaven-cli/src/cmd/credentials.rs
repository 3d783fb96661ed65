//! `keyhaven credentials add PROVIDER`: API keys, HTTP Basic, and the client id/secret (plus API
//! user/password) of the machine grants, checked live unless `--no-verify`.
//!
//! Values come from `--field NAME=VALUE` for non-secret fields; every field not given there is
//! asked for, in the catalog's order: on a terminal with a prompt (hidden for secrets), otherwise
//! one line each from stdin (an empty line leaves an optional field out). A secret field on the
//! command line is refused: argv is readable by every user of the machine.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use keyhaven_core::Error;
use keyhaven_core::credentials::{self, AddOptions};
use keyhaven_core::secret::SecretBytes;
use zeroize::Zeroizing;

use super::{Ctx, parse_vars, print_json};
use crate::error::CliResult;

/// `keyhaven credentials ...`
#[derive(Debug, clap::Subcommand)]
pub enum CredentialsCommand {
    /// Add credentials for a provider (API key, Basic, client credentials, password grant),
    /// verified with a live read-only call unless --no-verify.
    Add(AddArgs),
    /// Replace the credentials of a connection (a rotated key), checked live unless
    /// --no-verify; the connection keeps its name and history, the audit log records it.
    Update(UpdateArgs),
    /// Show what a provider asks for: its fields (in the order stdin gives them), variables,
    /// and the environment variables its tools get. Works before `keyhaven init`.
    Fields {
        /// Provider id.
        provider: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `keyhaven credentials add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Provider id (see `keyhaven providers list`).
    provider: String,
    /// A non-secret field, e.g. --field project_id=... (secrets are asked for, never taken here).
    #[arg(long = "field", value_name = "NAME=VALUE")]
    fields: Vec<String>,
    /// A field read from a file, secret or not: a key file such as a Google Cloud
    /// service-account key, --field-file key_json=KEY.json (at most 64 KiB).
    #[arg(long = "field-file", value_name = "NAME=PATH")]
    field_files: Vec<String>,
    /// Template variable (region, zone, endpoint), e.g. --var endpoint=ovh-eu.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Scope to request (machine grants; repeat for several).
    #[arg(long = "scope", value_name = "S")]
    scopes: Vec<String>,
    /// Store without checking the credentials live (offline set-up).
    #[arg(long)]
    no_verify: bool,
    /// Name for the connection when the provider's check names no account (e.g. the Hetzner
    /// project), or to override it.
    #[arg(long, value_name = "NAME")]
    account: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `keyhaven credentials update`.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Connection: its id, PROVIDER or PROVIDER:ACCOUNT.
    conn: String,
    /// A non-secret field, e.g. --field access_key_id=... (secrets are asked for).
    #[arg(long = "field", value_name = "NAME=VALUE")]
    fields: Vec<String>,
    /// A field read from a file, secret or not (a new key file).
    #[arg(long = "field-file", value_name = "NAME=PATH")]
    field_files: Vec<String>,
    /// Store without checking the new credentials live.
    #[arg(long)]
    no_verify: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a `keyhaven credentials` subcommand.
pub fn run(ctx: &Ctx, cmd: CredentialsCommand) -> CliResult {
    match cmd {
        CredentialsCommand::Fields { provider, json } => {
            let info = match ctx.open_vault_if_any()? {
                Some(vault) => vault.provider_info(&provider)?,
                None => keyhaven_core::providers::catalog_provider_info(&provider)?,
            };
            if json {
                return print_json(&serde_json::json!({
                    "provider": info.id,
                    "auth_mode": info.auth_mode,
                    "fields": info.fields,
                    "variables": info.variables,
                    "env": info.env,
                }));
            }
            print_fields(&info)
        }
        CredentialsCommand::Update(args) => update(ctx, args),
        CredentialsCommand::Add(args) => add(ctx, args),
    }
}

/// `credentials fields` in text: what `credentials add` will ask, in order.
fn print_fields(info: &keyhaven_core::providers::ProviderInfo) -> CliResult {
    use keyhaven_core::catalog::AuthMode;
    if info.auth_mode == AuthMode::Oauth2 {
        outln!(
            "{} signs in through the browser: nothing to type in. Run `keyhaven connect {}` \
             (after `keyhaven providers configure {} --client-id ID`; `keyhaven providers show \
             {}` says where to register your app).",
            info.name,
            info.id,
            info.id,
            info.id
        )?;
        return Ok(());
    }
    outln!(
        "{} ({}) asks for these fields, in this order (one line each on stdin when it is not a \
         terminal; an empty line leaves an optional field out):",
        info.name,
        info.auth_mode.describe()
    )?;
    for (i, f) in info.fields.iter().enumerate() {
        outln!(
            "  {}. {:20} {}{}{}",
            i + 1,
            f.name,
            f.label,
            if f.secret {
                " (secret: asked, never on the command line)"
            } else {
                " (may be given as --field NAME=VALUE)"
            },
            if f.optional { " (optional)" } else { "" }
        )?;
        if !f.help.is_empty() {
            outln!("     {:20} {}", "", f.help)?;
        }
        if let Some(u) = &f.create_url {
            outln!("     {:20} create it at {u}", "")?;
        }
        if let Some(p) = &f.permissions {
            outln!("     {:20} needs: {p}", "")?;
        }
    }
    if !info.variables.is_empty() {
        outln!("Variables (--var NAME=VALUE):")?;
        for v in &info.variables {
            outln!(
                "  {:23} {} (pattern {}, e.g. {}{})",
                v.name,
                v.label,
                v.pattern,
                v.example,
                v.default
                    .as_deref()
                    .map(|d| format!(", default {d}"))
                    .unwrap_or_default()
            )?;
        }
    }
    if !info.env.is_empty() {
        outln!(
            "Its tools get (keyhaven env / exec): {}",
            info.env.join(" ")
        )?;
    }
    Ok(())
}

/// `keyhaven credentials update CONN`: the provider's fields asked for again, checked, stored
/// over the old ones.
fn update(ctx: &Ctx, args: UpdateArgs) -> CliResult {
    let mut vault = ctx.open_vault()?;
    let conn = vault.find_connection(&args.conn)?;
    let def = vault.provider_def(&conn.provider)?;
    let values = read_values(&def, &args.fields, &args.field_files)?;
    let report = credentials::update(
        &mut vault,
        &conn.id,
        values,
        &AddOptions {
            verify: !args.no_verify,
            ..Default::default()
        },
    )?;
    if args.json {
        return print_json(&report);
    }
    outln!(
        "Replaced the credentials of {} ({}){}.",
        report.connection.spec(),
        report.connection.id,
        if report.verified {
            ", verified"
        } else {
            " without checking them (--no-verify)"
        }
    )?;
    eprintln!(
        "The old credentials still work at {} until you revoke them there.",
        def.name
    );
    Ok(())
}

/// The values of a provider's fields: `--field` for non-secret ones, the rest asked for (prompt
/// on a terminal, else one line each from stdin, in the catalog's order).
/// Largest file `--field-file` reads: key files are a few KiB.
const MAX_FIELD_FILE: u64 = 64 * 1024;

fn read_values(
    def: &keyhaven_core::catalog::ProviderDef,
    given: &[String],
    files: &[String],
) -> CliResult<BTreeMap<String, SecretBytes>> {
    let fields = credentials::fields(def);
    let mut values: BTreeMap<String, SecretBytes> = BTreeMap::new();
    for f in files {
        let (name, path) = f
            .split_once('=')
            .ok_or_else(|| Error::BadInput(format!("--field-file {f:?}: expected NAME=PATH")))?;
        if !fields.iter().any(|x| x.name == name) {
            let names: Vec<&str> = fields.iter().map(|x| x.name.as_str()).collect();
            return Err(Error::BadInput(format!(
                "--field-file: {} has no field {name:?}; its fields are {}",
                def.name,
                names.join(", ")
            ))
            .into());
        }
        values.insert(name.to_string(), read_field_file(name, path)?);
    }

    for f in given {
        let (name, value) = f
            .split_once('=')
            .ok_or_else(|| Error::BadInput(format!("--field {f:?}: expected NAME=VALUE")))?;
        if values.contains_key(name) {
            return Err(Error::BadInput(format!(
                "{name} is given twice (--field and --field-file)"
            ))
            .into());
        }
        match fields.iter().find(|x| x.name == name) {
            Some(x) if x.secret => {
                return Err(Error::BadInput(format!(
                    "{name} is secret: type it at the prompt or pipe it on stdin, not on the \
                     command line (other users can read a command line)"
                ))
                .into());
            }
            _ => {
                values.insert(name.to_string(), SecretBytes::from(value.to_string()));
            }
        }
    }
    let interactive = std::io::stdin().is_terminal();
    let mut stdin = std::io::stdin().lock();
    let asked: Vec<_> = fields
        .iter()
        .filter(|f| !values.contains_key(&f.name))
        .collect();
    let order: Vec<&str> = asked.iter().map(|f| f.name.as_str()).collect();
    for f in asked.iter().copied() {
        let value = if interactive {
            prompt(f)?
        } else {
            let mut line = Zeroizing::new(String::new());
            let n = stdin.read_line(&mut line)?;
            if n == 0 && !f.optional {
                return Err(Error::BadInput(format!(
                    "{} ({}) is missing: stdin ended; give one line per field in this order: {}",
                    f.label,
                    f.name,
                    order.join(", ")
                ))
                .into());
            }
            let trimmed = line.trim_end_matches(['\n', '\r']);
            Zeroizing::new(trimmed.to_string())
        };
        if !value.is_empty() {
            values.insert(f.name.clone(), SecretBytes::from(value.to_string()));
        }
    }
    Ok(values)
}

/// A field's value from a file: read whole (one trailing line break dropped), at most
/// [`MAX_FIELD_FILE`], UTF-8. The errors name the file, never its content.
fn read_field_file(name: &str, path: &str) -> CliResult<SecretBytes> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::BadInput(format!("--field-file {name}: cannot read {path}: {e}")))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_FIELD_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::BadInput(format!("--field-file {name}: cannot read {path}: {e}")))?;
    if bytes.len() as u64 > MAX_FIELD_FILE {
        return Err(Error::BadInput(format!(
            "--field-file {name}: {path} is larger than 64 KiB; a key file is a few KiB"
        ))
        .into());
    }
    if std::str::from_utf8(&bytes).is_err() {
        return Err(
            Error::BadInput(format!("--field-file {name}: {path} is not UTF-8 text")).into(),
        );
    }
    let mut end = bytes.len();
    if bytes[..end].ends_with(b"\n") {
        end -= 1;
        if bytes[..end].ends_with(b"\r") {
            end -= 1;
        }
    }
    if end == 0 {
        return Err(Error::BadInput(format!("--field-file {name}: {path} is empty")).into());
    }
    Ok(SecretBytes::new(bytes[..end].to_vec()))
}

fn add(ctx: &Ctx, args: AddArgs) -> CliResult {
    let vars = parse_vars(&args.vars)?;
    let mut vault = ctx.open_vault()?;
    let def = vault.provider_def(&args.provider)?;
    // Variables first: a typo there is told before any secret is typed in.
    def.resolve(&vars)?;
    let values = read_values(&def, &args.fields, &args.field_files)?;
    let report = credentials::add(
        &mut vault,
        &args.provider,
        values,
        &AddOptions {
            verify: !args.no_verify,
            vars,
            scopes: args.scopes,
            account: args.account,
        },
    )?;
    if args.json {
        return print_json(&report);
    }
    let c = &report.connection;
    if report.verified {
        outln!("Verified {} credentials: {}", def.name, c.account)?;
        for (k, v) in report.found.iter().filter(|(k, _)| *k != "account") {
            outln!("  {k}: {v}")?;
        }
    } else {
        outln!(
            "Stored {} credentials without checking them (--no-verify).",
            def.name
        )?;
    }
    outln!("Connection {} ({}:{})", c.id, c.provider, c.account)?;
    Ok(())
}

fn prompt(f: &keyhaven_core::catalog::CredentialField) -> CliResult<Zeroizing<String>> {
    let label = format!(
        "{}{}: ",
        f.label,
        if f.optional { " (optional)" } else { "" }
    );
    if !f.help.is_empty() {
        eprintln!("{}", f.help);
    }
    let value = if f.secret {
        rpassword::prompt_password(&label)
            .map_err(|e| Error::BadInput(format!("cannot read from the terminal: {e}")))?
    } else {
        eprint!("{label}");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    Ok(Zeroizing::new(value))
}
