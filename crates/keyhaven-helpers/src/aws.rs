//! AWS `credential_process` (AWS SDKs and Tools reference guide, "Process credential
//! provider"): one JSON object on stdout, `Version` 1, the key pair, the session token of
//! temporary credentials, and `Expiration` (RFC 3339) when they expire; absent, the SDKs treat
//! them as long-term. Errors: a non-zero exit with the reason on stderr (the SDKs quote it).

use serde::Serialize;
use zeroize::Zeroizing;

use crate::{ProtoError, TokenReply, json_secret};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Answer<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<&'a str>,
}

pub(crate) fn answer(reply: &TokenReply) -> Result<Zeroizing<String>, ProtoError> {
    let key_id = reply
        .fields
        .get("access_key_id")
        .ok_or_else(|| ProtoError {
            message: format!("{} holds no AWS access key id", reply.id),
            exit: 1,
        })?;
    json_secret(&Answer {
        version: 1,
        access_key_id: key_id,
        secret_access_key: &reply.token,
        session_token: reply
            .fields
            .get("session_token")
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty()),
        expiration: reply.expires_at.as_deref(),
    })
}
