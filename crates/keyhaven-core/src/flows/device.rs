//! The Device Authorization Grant (RFC 8628): for sessions where no redirect can reach Keyhaven
//! (a remote shell, a headless box) or the person prefers to sign in on another device.
//!
//! [`start_device`] asks the provider for a device code and returns what to show: the
//! verification URI, the user code, and `verification_uri_complete` when given. Those URIs are
//! accepted only as https (or http on a loopback host, for local servers): a `file:` or other
//! scheme is refused, never shown as something to open (SEC-8). [`poll_device`] then polls the
//! token endpoint honouring `interval` (5 s when absent), adds 5 s for good on `slow_down`,
//! doubles the interval after a network failure, and stops on `expired_token`, `access_denied`
//! or when `expires_in` has passed. The connection is saved like any other sign-in.

use std::time::{Duration, Instant};

use serde::Deserialize;
use zeroize::Zeroizing;

use super::pending::FlowRequest;
use super::{ConnectOptions, prepare, save_tokens};
use crate::catalog::check_endpoint_url;
use crate::connections::ConnectionSummary;
use crate::error::{Error, Result};
use crate::http;
use crate::oauth::client::{self as token, ClientAuth};
use crate::vault::Vault;

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.2: 5 seconds when the server gives no interval.
const DEFAULT_INTERVAL: u64 = 5;

/// A device authorization in progress.
pub struct DeviceAuthorization {
    /// Where the person goes to enter the code.
    pub verification_uri: String,
    /// The same with the code filled in, when the provider gives one.
    pub verification_uri_complete: Option<String>,
    /// The code to enter.
    pub user_code: String,
    /// Seconds until the device code expires.
    pub expires_in: u64,
    /// Current polling interval, seconds.
    pub interval: u64,
    device_code: Zeroizing<String>,
    provider_id: String,
    issuer: Option<String>,
    request: FlowRequest,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("verification_uri", &self.verification_uri)
            .field("user_code", &self.user_code)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct DeviceResponse {
    device_code: String,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: u64,
    interval: Option<u64>,
}

/// Asks the provider for a device code.
pub fn start_device(
    vault: &Vault,
    provider_id: &str,
    opts: &ConnectOptions,
) -> Result<DeviceAuthorization> {
    let def = vault.provider_def(provider_id)?;
    let p = prepare(vault, def, None, opts)?;
    let url = p.device_authorization_url.clone().ok_or_else(|| {
        Error::BadInput(format!(
            "{} does not offer the device flow; connect without --device",
            p.def.name
        ))
    })?;
    let request = p.request();
    let auth = ClientAuth {
        client_id: &p.client.client_id,
        client_secret: p.client.client_secret.as_ref(),
    };
    let mut form = vec![];
    if !p.scopes.is_empty() {
        form.push((
            "scope".to_string(),
            Zeroizing::new(p.scopes.join(&p.def.scope_separator)),
        ));
    }
    let what = format!("device authorization at {}", p.def.id);
    let resp = token::client_post(&what, &url, p.def.token_auth_method, &auth, form)?;
    if resp.status != 200 {
        // An RFC 6749-style error body reads better than the bare status.
        return Err(
            match serde_json::from_slice::<serde_json::Value>(&resp.body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            {
                Some(error) => Error::TokenEndpoint {
                    provider: p.def.id.clone(),
                    error: token::sanitize(&error),
                    description: String::new(),
                },
                None => http::status_error(&what, &resp),
            },
        );
    }
    let d: DeviceResponse = serde_json::from_slice(&resp.body).map_err(|e| {
        crate::http::malformed(&what, format!("not a device authorization response: {e}"))
    })?;
    // SEC-8: only web URLs are shown as places to go.
    check_endpoint_url(&d.verification_uri).map_err(|e| {
        crate::http::malformed(&what, format!("refusing the verification URI: {e}"))
    })?;
    let complete = match d.verification_uri_complete {
        Some(u) if check_endpoint_url(&u).is_ok() => Some(u),
        _ => None,
    };
    Ok(DeviceAuthorization {
        verification_uri: d.verification_uri,
        verification_uri_complete: complete,
        user_code: token::sanitize(&d.user_code),
        expires_in: d.expires_in.min(3600),
        interval: d.interval.unwrap_or(DEFAULT_INTERVAL).clamp(1, 60),
        device_code: Zeroizing::new(d.device_code),
        provider_id: p.def.id.clone(),
        issuer: p.resolved.issuer.clone(),
        request,
    })
}

/// Polls until the person approves, denies, the code expires, or `timeout` (when shorter than the
/// code's lifetime: `keyhaven connect --device --timeout SECS`) has passed. `sleep` is injected so
/// tests of the timing rules need not wait (the CLI passes `std::thread::sleep`).
pub fn poll_device(
    vault: &mut Vault,
    mut auth: DeviceAuthorization,
    timeout: Option<Duration>,
    sleep: &mut dyn FnMut(Duration),
) -> Result<ConnectionSummary> {
    let started = Instant::now();
    let expiry = started + Duration::from_secs(auth.expires_in);
    let give_up = timeout.map(|t| started + t).filter(|t| *t < expiry);
    let client = vault.provider_client(&auth.provider_id)?.ok_or_else(|| {
        Error::BadInput(format!("no OAuth app configured for {}", auth.provider_id))
    })?;
    loop {
        // Never sleep past the point of giving up.
        let nap = Duration::from_secs(auth.interval);
        let nap = match give_up {
            Some(t) => nap.min(t.saturating_duration_since(Instant::now())),
            None => nap,
        };
        sleep(nap);
        if Instant::now() >= expiry {
            return Err(device_error(&auth.provider_id, "expired_token"));
        }
        if give_up.is_some_and(|t| Instant::now() >= t) {
            return Err(Error::DeviceTimeout {
                provider: auth.provider_id.clone(),
                waited_secs: started.elapsed().as_secs(),
            });
        }
        let form = vec![
            (
                "grant_type".to_string(),
                Zeroizing::new(GRANT_TYPE.to_string()),
            ),
            ("device_code".to_string(), auth.device_code.clone()),
        ];
        let client_auth = ClientAuth {
            client_id: &client.client_id,
            client_secret: client.client_secret.as_ref(),
        };
        match token::token_request(&auth.provider_id, &auth.request, &client_auth, form) {
            Ok(tokens) => {
                let provider = auth.provider_id.clone();
                return save_tokens(
                    vault,
                    provider,
                    &auth.request,
                    auth.issuer.as_deref(),
                    None,
                    tokens,
                );
            }
            Err(Error::TokenEndpoint { error, .. }) if error == "authorization_pending" => {}
            Err(Error::TokenEndpoint { error, .. }) if error == "slow_down" => auth.interval += 5,
            Err(Error::TokenEndpoint { error, .. })
                if error == "expired_token" || error == "access_denied" =>
            {
                return Err(device_error(&auth.provider_id, &error));
            }
            // A network failure: back off (RFC 8628 §3.5), keep polling until the deadline.
            Err(Error::Http { .. }) => auth.interval = (auth.interval * 2).min(60),
            Err(other) => return Err(other),
        }
    }
}

fn device_error(provider: &str, error: &str) -> Error {
    let description = match error {
        "expired_token" => format!(
            ": the code expired before it was approved; run `keyhaven connect {provider} \
             --device` again"
        ),
        "access_denied" => ": the sign-in was cancelled on the other device".to_string(),
        _ => String::new(),
    };
    Error::AuthorizationDenied {
        provider: provider.to_string(),
        error: error.to_string(),
        description: description.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::catalog::{Identity, IdentitySource};
    use crate::providers::CustomProvider;

    /// A token endpoint that answers with `bodies` in order (status 400 for errors).
    fn scripted_server(bodies: Vec<&'static str>) -> (u16, std::thread::JoinHandle<usize>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let mut served = 0;
            for body in bodies {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let status = if body.contains("\"error\"") {
                    "400 Bad Request"
                } else {
                    "200 OK"
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(resp.as_bytes()).unwrap();
                served += 1;
            }
            served
        });
        (port, handle)
    }

    /// A passphrase vault with a custom provider `scripted` whose endpoints are on `port`.
    fn scripted_vault(port: u16) -> (tempfile::TempDir, Vault, String) {
        let (tmp, mut vault) = crate::vault::test_vault();
        let base = format!("http://127.0.0.1:{port}");
        vault
            .add_custom_provider(CustomProvider {
                id: "scripted".into(),
                authorization_url: Some(format!("{base}/auth")),
                token_url: Some(format!("{base}/token")),
                userinfo_url: Some(format!("{base}/me")),
                client_id: Some("c".into()),
                ..Default::default()
            })
            .unwrap();
        (tmp, vault, base)
    }

    #[test]
    fn polling_honours_interval_and_slow_down_and_stops_on_success() {
        // SEC-8: pending, slow_down, pending, then a token: sleeps of 5, 5, 10, 10 seconds.
        let (port, server) = scripted_server(vec![
            r#"{"error":"authorization_pending"}"#,
            r#"{"error":"slow_down"}"#,
            r#"{"error":"authorization_pending"}"#,
            r#"{"access_token":"AT","token_type":"Bearer","expires_in":60,"account":"dev"}"#,
        ]);
        let (_tmp, mut vault, base) = scripted_vault(port);
        let auth = DeviceAuthorization {
            verification_uri: format!("{base}/device"),
            verification_uri_complete: None,
            user_code: "ABCD".into(),
            expires_in: 600,
            interval: DEFAULT_INTERVAL,
            device_code: Zeroizing::new("dc".into()),
            provider_id: "scripted".into(),
            issuer: None,
            request: FlowRequest {
                identity: Some(Identity {
                    source: IdentitySource::TokenResponse,
                    fields: vec!["/account".into()],
                    headers: Default::default(),
                    method: "GET".into(),
                    body: None,
                    token_header: None,
                    token_prefix: None,
                }),
                ..FlowRequest::for_test(&format!("{base}/token"))
            },
        };
        let mut slept = vec![];
        let conn = poll_device(&mut vault, auth, None, &mut |d| slept.push(d.as_secs())).unwrap();
        assert_eq!(slept, [5, 5, 10, 10]);
        assert_eq!(conn.account, "dev");
        assert_eq!(server.join().unwrap(), 4, "no poll after success");
    }

    #[test]
    fn expired_token_stops_polling() {
        let (port, server) = scripted_server(vec![r#"{"error":"expired_token"}"#]);
        let (_tmp, mut vault, base) = scripted_vault(port);
        let def = vault.provider_def("scripted").unwrap();
        let p = prepare(&vault, def, None, &ConnectOptions::default()).unwrap();
        let auth = DeviceAuthorization {
            verification_uri: format!("{base}/device"),
            verification_uri_complete: None,
            user_code: "ABCD".into(),
            expires_in: 600,
            interval: 7,
            device_code: Zeroizing::new("dc".into()),
            provider_id: "scripted".into(),
            issuer: None,
            request: p.request(),
        };
        let mut slept = vec![];
        let err =
            poll_device(&mut vault, auth, None, &mut |d| slept.push(d.as_secs())).unwrap_err();
        assert!(err.to_string().contains("expired_token"), "{err}");
        assert_eq!(
            slept,
            [7],
            "the server's interval is used, and polling stops"
        );
        assert_eq!(server.join().unwrap(), 1);
    }
}
