//! Handing credentials to tools: the environment variables the provider's own CLI and Terraform
//! provider read (catalog `env`), for `keyhaven env` and `keyhaven exec`, and the quoting that
//! makes printing them safe.
//!
//! Values are quoted; names cannot be, so a name is checked twice (SEC-41): an [`EnvVar`] can
//! only be made with a portable name (`[A-Za-z_][A-Za-z0-9_]*`), and the writers check again.
//! A definition that named `X=$(...) #` would otherwise run code under
//! `eval "$(keyhaven env ...)"`.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::audit;
use crate::error::{Error, Result};
use crate::tokens::{self, TokenOptions};
use crate::vault::Vault;

/// One variable: name and value (secret or not, always handled as if secret).
pub struct EnvVar {
    name: String,
    value: Zeroizing<String>,
}

impl EnvVar {
    /// A variable; refuses a name that is not portable (SEC-41).
    pub fn new(name: &str, value: Zeroizing<String>) -> Result<EnvVar> {
        check_name(name)?;
        Ok(EnvVar {
            name: name.to_string(),
            value,
        })
    }

    /// Variable name, e.g. `HCLOUD_TOKEN`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Name and value, for a process's environment.
    pub fn into_parts(self) -> (String, Zeroizing<String>) {
        (self.name, self.value)
    }
}

fn check_name(name: &str) -> Result<()> {
    if crate::catalog::is_portable_name(name) {
        Ok(())
    } else {
        Err(Error::Catalog {
            reason: format!(
                "refusing to write the environment variable name {name:?}: not a portable name"
            ),
        })
    }
}

impl std::fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EnvVar({}=[redacted])", self.name)
    }
}

/// The variables for connection `conn_id`, access token refreshed first when it is one of them.
/// Recorded in the audit log (`credentials.env`, with the variable names, or the `purpose`).
pub fn environment(vault: &mut Vault, conn_id: &str, purpose: &str) -> Result<Vec<EnvVar>> {
    let summary = vault
        .connection_summary(conn_id)?
        .ok_or_else(|| Error::NoSuchConnection {
            id: conn_id.to_string(),
        })?;
    let def = vault.provider_def(&summary.provider)?;
    if def.env.is_empty() {
        return Err(Error::BadInput(format!(
            "{} names no environment variables for its tools",
            def.name
        )));
    }
    let extra = crate::connections::rows::extra(vault.conn(), conn_id)?;
    let stored_vars: BTreeMap<String, String> = extra
        .get("keyhaven_vars")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    // Never invent a value: a variable that took its default (no value given when the
    // connection was made) is not handed to tools, which then use their own (AWS_REGION).
    let defaulted: std::collections::BTreeSet<String> = extra
        .get("keyhaven_defaulted")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let vars = def.resolve(&stored_vars)?.vars;
    let needs_token = def.env.values().any(|s| s == "access_token");
    let token = if needs_token {
        Some(tokens::access_token(
            vault,
            conn_id,
            TokenOptions::default(),
        )?)
    } else {
        None
    };
    let mut out = Vec::new();
    for (name, source) in &def.env {
        let value = match source.as_str() {
            "access_token" => token
                .as_ref()
                .map(|t| String::from_utf8_lossy(t.expose_secret()).into_owned()),
            s if vars.contains_key(s) => {
                Some(vars[s].clone()).filter(|v| !v.is_empty() && !defaulted.contains(s))
            }
            s => tokens::read_field_pub(vault, conn_id, s)?
                .map(|v| String::from_utf8_lossy(v.expose_secret()).into_owned()),
        };
        if let Some(value) = value {
            out.push(EnvVar::new(name, Zeroizing::new(value))?);
        }
    }
    let names: Vec<&str> = out.iter().map(|v| v.name.as_str()).collect();
    audit::record(
        vault,
        Some(conn_id),
        "credentials.env",
        Some(&format!("{purpose}: {}", names.join(" "))),
    )?;
    Ok(out)
}

/// The variables of a provider's tools that carry identity: the `env` names that come from a
/// credential field or a token, and the catalog's `env_clear`. `keyhaven exec` clears each one
/// the connections do not set, so a stale `AWS_SESSION_TOKEN` or `AWS_PROFILE` from the calling
/// shell never mixes with the connection's keys (as aws-vault does). Variables that come from a
/// template variable (a region, an endpoint) are configuration and left to the caller.
pub fn family(def: &crate::catalog::ProviderDef) -> Vec<String> {
    let mut out: Vec<String> = def
        .env
        .iter()
        .filter(|(_, source)| !def.variables.contains_key(*source))
        .map(|(name, _)| name.clone())
        .chain(def.env_clear.iter().cloned())
        .filter(|n| crate::catalog::is_portable_name(n))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `export NAME='value'`: POSIX single quotes keep every byte literal (newlines, `$()`, `\``);
/// a single quote is closed, escaped and reopened.
pub fn sh_line(v: &EnvVar) -> Result<Zeroizing<String>> {
    check_name(&v.name)?;
    Ok(Zeroizing::new(format!(
        "export {}='{}'",
        v.name,
        v.value.replace('\'', "'\\''")
    )))
}

/// `NAME='value'` when that is unambiguous (no quote, no line break), else
/// `NAME="..."` with `\\`, `\"`, `\$`, `\n` and `\r` escaped: what the common dotenv parsers
/// (python-dotenv, Node's dotenv, docker compose) read back as the same bytes.
pub fn dotenv_line(v: &EnvVar) -> Result<Zeroizing<String>> {
    check_name(&v.name)?;
    if !v.value.contains(['\'', '\n', '\r']) {
        return Ok(Zeroizing::new(format!("{}='{}'", v.name, v.value.as_str())));
    }
    let mut s = String::with_capacity(v.value.len() + 8);
    for c in v.value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '$' => s.push_str("\\$"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            c => s.push(c),
        }
    }
    Ok(Zeroizing::new(format!("{}=\"{}\"", v.name, s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(value: &str) -> EnvVar {
        EnvVar::new("X", Zeroizing::new(value.into())).unwrap()
    }

    #[test]
    fn hostile_names_are_refused_when_made_and_when_written() {
        for name in [
            "X=$(touch /tmp/pwned) #",
            "A B",
            "1X",
            "",
            "X;Y",
            "X\nY",
            "Ä",
        ] {
            assert!(
                EnvVar::new(name, Zeroizing::new("v".into())).is_err(),
                "{name:?}"
            );
            let forged = EnvVar {
                name: name.into(),
                value: Zeroizing::new("v".into()),
            };
            assert!(
                sh_line(&forged).is_err() && dotenv_line(&forged).is_err(),
                "{name:?}"
            );
        }
        for name in ["HCLOUD_TOKEN", "_x", "aws_region2"] {
            assert!(
                EnvVar::new(name, Zeroizing::new("v".into())).is_ok(),
                "{name:?}"
            );
        }
    }

    #[test]
    fn sh_quoting_survives_hostile_values() {
        for hostile in [
            "plain",
            "it's",
            "$(touch /tmp/pwned)",
            "`id`",
            "a\nb",
            "'; rm -rf / #",
            "\\'\"",
            "",
        ] {
            let line = sh_line(&var(hostile)).unwrap();
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{}\nprintf %s \"$X\"", line.as_str()))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), hostile, "{line:?}");
        }
    }

    #[test]
    fn a_github_oauth_connection_gives_gh_token_and_is_audited() {
        let (_tmp, mut vault) = crate::vault::test_vault();
        let id = crate::vault::test_github_connection(&mut vault, "octocat", None, "gho_abc");
        let vars = environment(&mut vault, &id, "env").unwrap();
        let names: Vec<&str> = vars.iter().map(|v| v.name()).collect();
        assert_eq!(names, ["GH_TOKEN", "GITHUB_TOKEN"]);
        assert!(vars.iter().all(|v| v.value() == "gho_abc"));
        assert!(!format!("{vars:?}").contains("gho_abc"), "Debug redacts");
        let audit = vault.audit_events(Some(&id)).unwrap();
        assert!(audit.iter().any(|e| e.action == "credentials.env"));
    }

    #[test]
    fn dotenv_escapes_quotes_newlines_and_dollars() {
        assert_eq!(dotenv_line(&var("abc$x")).unwrap().as_str(), "X='abc$x'");
        assert_eq!(
            dotenv_line(&var("a'b\n$c\"\\")).unwrap().as_str(),
            "X=\"a'b\\n\\$c\\\"\\\\\""
        );
    }
}
