//! Terraform / OpenTofu credentials helpers (Terraform docs, "Credentials Helpers"): the
//! program runs as `terraform-credentials-keyhaven VERB HOSTNAME`; `get` prints
//! `{"token":"..."}`, or `{}` (exit 0) when it has nothing for the host; `store` reads JSON and
//! must refuse what it cannot keep (Keyhaven keeps tokens only as connections); `forget`
//! deletes nothing here. Errors are plain text on stderr with a non-zero exit.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::{Need, ProtoError, TokenReply, ToolQuery, json_secret};

/// The helper's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// The token for a host.
    Get,
    /// Keep a token (refused: connect the service in Keyhaven instead).
    Store,
    /// Forget a host's token (nothing is deleted).
    Forget,
}

impl Verb {
    /// The verb named on the command line.
    pub fn parse(s: &str) -> Option<Verb> {
        Some(match s {
            "get" => Verb::Get,
            "store" => Verb::Store,
            "forget" => Verb::Forget,
            _ => return None,
        })
    }
}

pub(crate) fn query(verb: Verb, host: &str, input: &[u8]) -> Result<Need, ProtoError> {
    match verb {
        Verb::Get => Ok(Need::HandOut(ToolQuery {
            tool: "terraform".into(),
            host: Some(host.to_string()),
            ..Default::default()
        })),
        Verb::Store => {
            serde_json::from_slice::<serde_json::Value>(input).map_err(|e| {
                ProtoError::bad(format!("store: the credentials on stdin are not JSON: {e}"))
            })?;
            Err(ProtoError {
                message: format!(
                    "keyhaven does not store Terraform tokens: connect {host}'s account in \
                     Keyhaven and `keyhaven setup terraform CONN --host {host}`"
                ),
                exit: 1,
            })
        }
        Verb::Forget => Ok(Need::Done),
    }
}

#[derive(Serialize)]
struct Answer<'a> {
    token: &'a str,
}

pub(crate) fn answer(reply: &TokenReply) -> Result<Zeroizing<String>, ProtoError> {
    json_secret(&Answer {
        token: &reply.token,
    })
}
