//! Authenticating a check with the provider's own scheme (see the parent module's list). Each
//! scheme is one function; secrets are read into `Zeroizing` strings only for as long as the
//! signature takes.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use reqwest::blocking::RequestBuilder;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{Check, Found, Request, unix_now};
use crate::catalog::{ProviderDef, VerifyScheme};
use crate::error::{Error, Result, VerifyClass};
use crate::http;

/// Adds the scheme's credentials to the request. OVHcloud's also notes in `found` a clock offset
/// it compensated.
pub(super) fn authenticate(
    check: &Check<'_>,
    request: &Request,
    builder: RequestBuilder,
    found: &mut Found,
) -> Result<RequestBuilder> {
    let spec = check.spec;
    let token_field = spec.token_field.as_deref().unwrap_or("token");
    Ok(match spec.scheme {
        VerifyScheme::Bearer => builder.bearer_auth(text(check, token_field).as_str()),
        VerifyScheme::Header => {
            let value = Zeroizing::new(format!(
                "{}{}",
                spec.prefix.as_deref().unwrap_or_default(),
                text(check, token_field).as_str()
            ));
            let mut value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
                Error::BadInput("the key holds characters a header cannot carry".into())
            })?;
            value.set_sensitive(true);
            builder.header(spec.header.as_deref().unwrap_or_default(), value)
        }
        VerifyScheme::Basic => {
            let user = match &spec.basic_username {
                Some(fixed) => Zeroizing::new(fixed.clone()),
                None => text(check, "username"),
            };
            let password = match &spec.basic_password {
                Some(fixed) => Zeroizing::new(fixed.clone()),
                None => text(check, "password"),
            };
            builder.basic_auth(user.as_str(), Some(password.as_str()))
        }
        VerifyScheme::GrantBearer => {
            let token = check.grant_token.ok_or_else(|| Error::Catalog {
                reason: format!("{}: grant_bearer without a grant", check.def.id),
            })?;
            builder.bearer_auth(String::from_utf8_lossy(token.expose_secret()).as_ref())
        }
        VerifyScheme::OvhSignature => ovh(check, request, builder, found)?,
        VerifyScheme::ExoscaleSignature => {
            let header = exoscale_authorization(
                &text(check, "api_key"),
                &text(check, "api_secret"),
                request.method.as_str(),
                &request.url,
                &request.body,
                unix_now() + 600,
            )?;
            builder.header("Authorization", header)
        }
        VerifyScheme::AwsSigv4 => aws(check, request, builder)?,
    })
}

/// A field's value as text, wiped when dropped.
fn text(check: &Check<'_>, name: &str) -> Zeroizing<String> {
    Zeroizing::new(
        check
            .values
            .get(name)
            .map(|v| String::from_utf8_lossy(v.expose_secret()).into_owned())
            .unwrap_or_default(),
    )
}

/// OVHcloud: `$1$` + SHA-1 of AS+CK+METHOD+URL+BODY+TIMESTAMP, on OVHcloud's clock.
fn ovh(
    check: &Check<'_>,
    request: &Request,
    builder: RequestBuilder,
    found: &mut Found,
) -> Result<RequestBuilder> {
    let time_url = check.resolved.time_url.as_deref().unwrap_or_default();
    let server_time = ovh_server_time(check.def, time_url)?;
    let offset = server_time - unix_now();
    if offset.abs() > 30 {
        found.insert(
            "clock_offset".into(),
            format!(
                "{} (compensated with OVHcloud's time)",
                super::classify::describe_offset(offset)
            ),
        );
    }
    let ts = server_time.to_string();
    let (ak, asec, ck) = (
        text(check, "application_key"),
        text(check, "application_secret"),
        text(check, "consumer_key"),
    );
    let plain = Zeroizing::new(format!(
        "{}+{}+{}+{}+{}+{}",
        asec.as_str(),
        ck.as_str(),
        request.method.as_str(),
        request.url,
        request.body,
        ts
    ));
    let signature = format!("$1${}", hex::encode(Sha1::digest(plain.as_bytes())));
    Ok(builder
        .header("X-Ovh-Application", ak.as_str())
        .header("X-Ovh-Consumer", ck.as_str())
        .header("X-Ovh-Timestamp", ts)
        .header("X-Ovh-Signature", signature))
}

/// OVHcloud's clock: `GET /auth/time` answers a bare integer.
fn ovh_server_time(def: &ProviderDef, url: &str) -> Result<i64> {
    let client = http::client()?;
    let what = format!("asking {} for its time", def.name);
    let unavailable = |reason: String| Error::Verification {
        provider: def.id.clone(),
        class: VerifyClass::Unavailable,
        message: format!("could not reach {} ({reason})", def.name),
    };
    let resp = http::send(&what, client.get(url)).map_err(|e| unavailable(e.to_string()))?;
    if resp.status != 200 {
        return Err(unavailable(format!("{what}: HTTP {}", resp.status)));
    }
    String::from_utf8_lossy(&resp.body)
        .trim()
        .parse::<i64>()
        .map_err(|_| unavailable(format!("{what}: not a time")))
}

/// The `Authorization` value of Exoscale's `EXO2-HMAC-SHA256` scheme.
fn exoscale_authorization(
    key: &str,
    secret: &str,
    method: &str,
    url: &str,
    body: &str,
    expires: i64,
) -> Result<String> {
    let parsed = url::Url::parse(url).map_err(|e| Error::BadInput(format!("{url}: {e}")))?;
    // Every single-valued query parameter is signed, names sorted.
    let mut pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    pairs.sort();
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    let values: String = pairs.iter().map(|(_, v)| v.as_str()).collect();
    let message = format!("{method} {}\n{body}\n{values}\n\n{expires}", parsed.path());
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(message.as_bytes());
    let signature = B64.encode(mac.finalize().into_bytes());
    let signed_args = if names.is_empty() {
        String::new()
    } else {
        format!(",signed-query-args={}", names.join(";"))
    };
    Ok(format!(
        "EXO2-HMAC-SHA256 credential={key}{signed_args},expires={expires},signature={signature}"
    ))
}

/// AWS: Signature Version 4 of the STS request, in the connection's region.
fn aws(check: &Check<'_>, request: &Request, builder: RequestBuilder) -> Result<RequestBuilder> {
    let region = check
        .resolved
        .all_vars
        .get("region")
        .cloned()
        .unwrap_or_else(|| "us-east-1".into());
    let session = check
        .values
        .get("session_token")
        .map(|v| String::from_utf8_lossy(v.expose_secret()).into_owned());
    let headers = aws_sign(
        &text(check, "access_key_id"),
        &text(check, "secret_access_key"),
        session,
        &region,
        request.method.as_str(),
        &request.url,
        check.spec.content_type.as_deref(),
        request.body.as_bytes(),
    )?;
    Ok(headers
        .into_iter()
        .fold(builder, |b, (k, v)| b.header(k, v)))
}

/// AWS Signature Version 4 headers for one STS request, by the `aws-sigv4` crate.
#[allow(clippy::too_many_arguments)]
fn aws_sign(
    key_id: &str,
    secret: &str,
    session_token: Option<String>,
    region: &str,
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<(String, String)>> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let identity =
        aws_credential_types::Credentials::new(key_id, secret, session_token, None, "keyhaven")
            .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Error::BadInput(format!("AWS signing: {e}")))?
        .into();
    let headers: Vec<(&str, &str)> = content_type
        .map(|c| vec![("content-type", c)])
        .unwrap_or_default();
    let request = SignableRequest::new(method, url, headers.into_iter(), SignableBody::Bytes(body))
        .map_err(|e| Error::BadInput(format!("AWS signing: {e}")))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| Error::BadInput(format!("AWS signing: {e}")))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exoscale_signature_matches_egoscale_vectors() {
        // Vectors from Exoscale's official Go SDK (egoscale v2/api/security_test.go).
        let secret = "X".repeat(43);
        let key = "EXOxxxxxxxxxxxxxxxxxxxxxxxx";
        let h = exoscale_authorization(
            key,
            &secret,
            "GET",
            "https://api-ch-gva-2.exoscale.com/v2/zone",
            "",
            3376684800,
        )
        .unwrap();
        assert!(
            h.ends_with("signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY="),
            "{h}"
        );
        assert!(!h.contains("signed-query-args"));
        let h = exoscale_authorization(
            key,
            &secret,
            "GET",
            "https://api-ch-gva-2.exoscale.com/v2/zone?k2=v2&k1=v1",
            "",
            3376684800,
        )
        .unwrap();
        assert!(h.contains(",signed-query-args=k1;k2,"), "{h}");
        assert!(
            h.ends_with("signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY="),
            "{h}"
        );
    }
}
