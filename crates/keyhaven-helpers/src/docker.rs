//! The docker credential helper protocol (docker/docker-credential-helpers, used by docker,
//! podman, skopeo, buildah, crane, Helm): the verb is the argument; `get` and `erase` read the
//! bare server URL on stdin, `store` a JSON object; `get` answers
//! `{"ServerURL","Username","Secret"}`. Errors are written to **stdout** with exit 1, and an
//! unknown registry is exactly [`NOT_FOUND`], which the clients match on.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::{Need, ProtoError, TokenReply, ToolQuery, json_secret};

/// The message every docker client takes for "no credentials for this registry".
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// The helper's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Credentials for the server URL on stdin.
    Get,
    /// Keep these (Keyhaven does not: the connection is the store).
    Store,
    /// Forget the server URL on stdin's (nothing is deleted).
    Erase,
    /// Registry -> username of everything served.
    List,
    /// The helper's version.
    Version,
}

impl Verb {
    /// The verb named on the command line.
    pub fn parse(s: &str) -> Option<Verb> {
        Some(match s {
            "get" => Verb::Get,
            "store" => Verb::Store,
            "erase" => Verb::Erase,
            "list" => Verb::List,
            "version" => Verb::Version,
            _ => return None,
        })
    }
}

fn server_url(input: &[u8]) -> Result<String, ProtoError> {
    let text = std::str::from_utf8(input).map_err(|_| ProtoError {
        message: "the server URL is not UTF-8".into(),
        exit: 1,
    })?;
    let url = text.trim();
    if url.is_empty() {
        // docker-credential-helpers' own message for this case.
        return Err(ProtoError {
            message: "no credentials server URL".into(),
            exit: 1,
        });
    }
    if url.len() > 4096 || url.contains(['\n', '\0']) {
        return Err(ProtoError {
            message: "the server URL is not one line".into(),
            exit: 1,
        });
    }
    Ok(url.to_string())
}

pub(crate) fn query(verb: Verb, input: &[u8]) -> Result<Need, ProtoError> {
    match verb {
        Verb::Get => {
            let url = server_url(input)?;
            Ok(Need::HandOut(ToolQuery {
                tool: "docker".into(),
                host: Some(url),
                ..Default::default()
            }))
        }
        Verb::Store => {
            // Checked, so a broken client hears about it, and not kept.
            let v: serde_json::Value = serde_json::from_slice(input).map_err(|e| ProtoError {
                message: format!("store: the credentials on stdin are not JSON: {e}"),
                exit: 1,
            })?;
            if v.get("ServerURL").and_then(|s| s.as_str()).is_none() {
                return Err(ProtoError {
                    message: "store: no ServerURL in the credentials".into(),
                    exit: 1,
                });
            }
            Ok(Need::Done)
        }
        Verb::Erase => {
            server_url(input)?;
            Ok(Need::Done)
        }
        Verb::List => Ok(Need::List),
        Verb::Version => {
            crate::write_stdout(
                format!(
                    "docker-credential-keyhaven (keyhaven) v{}\n",
                    crate::VERSION
                )
                .as_bytes(),
            )?;
            Ok(Need::Done)
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Answer<'a> {
    #[serde(rename = "ServerURL")]
    server_url: &'a str,
    username: &'a str,
    secret: &'a str,
}

pub(crate) fn answer(
    reply: &TokenReply,
    server_url: &str,
) -> Result<Zeroizing<String>, ProtoError> {
    json_secret(&Answer {
        server_url,
        username: reply.username.as_deref().unwrap_or("oauth2"),
        secret: &reply.token,
    })
}
