//! cargo's credential-provider protocol (The Cargo Book, "Credential Provider Protocol"),
//! version 1: cargo runs the provider with `--cargo-plugin`; the provider writes a hello
//! (`{"v":[1]}`), then answers each JSON request line with one JSON line, until stdin closes.
//! `get` answers `{"Ok":{"kind":"get","token",...,"cache":"expires","expiration"}}` so cargo
//! reuses the token exactly until it expires; a registry Keyhaven does not serve is
//! `url-not-supported`, which makes cargo try its next provider. Keyhaven does not `login` or
//! `logout` (a connection is made with `keyhaven connect`).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{ProtoError, TokenReply, ToolQuery, json_secret};

/// The provider's first line.
pub const HELLO: &str = "{\"v\":[1]}\n";

/// The registry a request names.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Registry {
    /// Its index URL.
    #[serde(rename = "index-url")]
    pub index_url: String,
    /// Its name in cargo's config (absent for one named only by URL).
    #[serde(default)]
    pub name: Option<String>,
}

/// One request line.
#[derive(Debug, Clone, Deserialize)]
pub struct Request {
    /// Protocol version (1).
    pub v: u32,
    /// `get`, `login`, `logout`...
    pub kind: String,
    /// The registry.
    #[serde(default)]
    pub registry: Option<Registry>,
    /// get: `read`, `publish`, `yank`, `owners`.
    #[serde(default)]
    pub operation: Option<String>,
}

/// What to do with a request.
#[derive(Debug)]
pub enum Action {
    /// A token for this query.
    Get(ToolQuery),
    /// Answer this error line.
    Refuse(String),
}

/// Parses a request line into what to do.
pub fn parse(line: &[u8]) -> Result<Action, ProtoError> {
    let req: Request = serde_json::from_slice(line)
        .map_err(|e| ProtoError::bad(format!("cargo's request is not JSON: {e}")))?;
    if req.v != 1 {
        return Ok(Action::Refuse(error(
            "other",
            &format!(
                "keyhaven speaks version 1 of the credential protocol, not {}",
                req.v
            ),
        )));
    }
    match req.kind.as_str() {
        "get" => {
            let reg = req.registry.unwrap_or_default();
            // A registry is set up by name (`keyhaven setup cargo CONN --registry NAME`);
            // crates.io is named crates-io.
            let name = reg.name.or_else(|| {
                (reg.index_url == "https://github.com/rust-lang/crates.io-index"
                    || reg.index_url == "sparse+https://index.crates.io/")
                    .then(|| "crates-io".to_string())
            });
            match name {
                Some(name) => Ok(Action::Get(ToolQuery {
                    tool: "cargo".into(),
                    host: Some(name),
                    ..Default::default()
                })),
                None => Ok(Action::Refuse(error("url-not-supported", ""))),
            }
        }
        "login" | "logout" => Ok(Action::Refuse(error(
            "operation-not-supported",
            "keyhaven keeps registry tokens as connections: `keyhaven connect` and `keyhaven \
             setup cargo CONN --registry NAME`",
        ))),
        _ => Ok(Action::Refuse(error("operation-not-supported", ""))),
    }
}

/// An error line: `{"Err":{"kind":KIND,"message":MESSAGE}}` (no message when empty).
pub fn error(kind: &str, message: &str) -> String {
    let mut err = serde_json::Map::new();
    err.insert("kind".into(), kind.into());
    if !message.is_empty() {
        err.insert("message".into(), message.into());
    }
    let v = serde_json::json!({ "Err": err });
    format!("{v}\n")
}

#[derive(Serialize)]
struct GetOk<'a> {
    kind: &'static str,
    token: &'a str,
    cache: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<i64>,
    operation_independent: bool,
}

#[derive(Serialize)]
struct Ok_<'a> {
    #[serde(rename = "Ok")]
    ok: GetOk<'a>,
}

/// The answer to a `get`.
pub fn answer(reply: &TokenReply) -> Result<Zeroizing<String>, ProtoError> {
    let expiration = reply.expires_at.as_deref().and_then(crate::unix_of_rfc3339);
    json_secret(&Ok_ {
        ok: GetOk {
            kind: "get",
            token: &reply.token,
            // Without an expiry, cargo keeps it for this run only.
            cache: if expiration.is_some() {
                "expires"
            } else {
                "session"
            },
            expiration,
            operation_independent: true,
        },
    })
}
