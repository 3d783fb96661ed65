//! kubectl's exec credential plugin (Kubernetes docs, "client-go credential plugins"): an
//! `ExecCredential` on stdout whose `apiVersion` matches the one kubectl asked for in
//! `KUBERNETES_EXEC_INFO` (v1 when absent), with `status.token` and
//! `status.expirationTimestamp` (RFC 3339), so client-go caches it exactly until then.
//! Failures: a non-zero exit, with the reason on stderr (kubectl shows it).

use serde::Serialize;
use zeroize::Zeroizing;

use crate::{ProtoError, TokenReply, json_secret};

/// The versions of `client.authentication.k8s.io` kubectl speaks.
const VERSIONS: [&str; 3] = [
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
    "client.authentication.k8s.io/v1alpha1",
];

/// The apiVersion to answer with: the one in `KUBERNETES_EXEC_INFO`, else v1.
pub fn api_version(exec_info: Option<&str>) -> Result<String, ProtoError> {
    let Some(info) = exec_info.filter(|s| !s.trim().is_empty()) else {
        return Ok(VERSIONS[0].into());
    };
    let v: serde_json::Value = serde_json::from_str(info)
        .map_err(|e| ProtoError::bad(format!("KUBERNETES_EXEC_INFO is not JSON: {e}")))?;
    let api = v
        .get("apiVersion")
        .and_then(|a| a.as_str())
        .ok_or_else(|| ProtoError::bad("KUBERNETES_EXEC_INFO has no apiVersion"))?;
    if !VERSIONS.contains(&api) {
        return Err(ProtoError::bad(format!(
            "KUBERNETES_EXEC_INFO asks for {api:?}; keyhaven speaks {}",
            VERSIONS.join(", ")
        )));
    }
    Ok(api.to_string())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_timestamp: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredential<'a> {
    api_version: &'a str,
    kind: &'static str,
    status: Status<'a>,
}

pub(crate) fn answer(reply: &TokenReply, api: &str) -> Result<Zeroizing<String>, ProtoError> {
    json_secret(&ExecCredential {
        api_version: api,
        kind: "ExecCredential",
        status: Status {
            token: &reply.token,
            expiration_timestamp: reply.expires_at.as_deref(),
        },
    })
}
