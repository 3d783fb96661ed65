//! git's credential helper protocol (`git help credential`, "HELPER PROTOCOL"): the request
//! is `key=value` lines ending at a blank line or EOF; `get` answers `username`, `password`
//! and `password_expiry_utc` (git 2.40+ drops an expired password itself). `store` is ignored
//! (the connection is the store), `erase` marks the token stale. Unknown keys are ignored, as
//! git's own parser does; unknown verbs are ignored, as git asks of helpers.

use zeroize::Zeroizing;

use crate::{Need, ProtoError, TokenReply, ToolQuery, one_line};

/// The longest line git itself writes or reads (`LARGE_PACKET_MAX`-ish, 65535 bytes).
const MAX_LINE: usize = 65_535;

/// The helper's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Credentials, please.
    Get,
    /// These worked (ignored).
    Store,
    /// These were refused.
    Erase,
    /// Anything else: ignored, exit 0 (git's rule for helpers).
    Other,
}

impl Verb {
    /// The verb named on the command line.
    pub fn parse(s: &str) -> Option<Verb> {
        Some(match s {
            "get" => Verb::Get,
            "store" => Verb::Store,
            "erase" => Verb::Erase,
            s if s.starts_with('-') || s.is_empty() => return None,
            _ => Verb::Other,
        })
    }
}

/// What git told us.
#[derive(Debug, Default)]
pub struct Request {
    /// `https`, `http`...
    pub protocol: Option<String>,
    /// `host[:port]`.
    pub host: Option<String>,
    /// The repository path (with `credential.useHttpPath`).
    pub path: Option<String>,
    /// The username git has.
    pub username: Option<String>,
    /// The password git has (erase: the refused token).
    pub password: Option<Zeroizing<String>>,
}

/// Parses git's request.
pub fn parse(input: &[u8]) -> Result<Request, ProtoError> {
    let text = std::str::from_utf8(input)
        .map_err(|_| ProtoError::bad("git's request is not UTF-8 text"))?;
    let mut req = Request::default();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.len() > MAX_LINE {
            return Err(ProtoError::bad(
                "a line of git's request is longer than 65535 bytes",
            ));
        }
        if line.contains('\0') {
            return Err(ProtoError::bad("git's request holds a NUL byte"));
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(ProtoError::bad(format!(
                "git's request has a line without '=' ({} bytes): expected key=value",
                line.len()
            )));
        };
        match key {
            "protocol" => req.protocol = Some(value.to_string()),
            "host" => req.host = Some(value.to_string()),
            "path" => req.path = Some(value.to_string()),
            "username" => req.username = Some(value.to_string()),
            "password" => req.password = Some(Zeroizing::new(value.to_string())),
            // url= is what `git credential fill` users type; git itself splits it up.
            "url" => {
                if let Some((scheme, rest)) = value.split_once("://") {
                    req.protocol = Some(scheme.to_string());
                    let hostpart = rest.split('/').next().unwrap_or("");
                    let hostpart = hostpart.rsplit('@').next().unwrap_or(hostpart);
                    req.host = Some(hostpart.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(req)
}

pub(crate) fn query(verb: Verb, input: &[u8]) -> Result<Need, ProtoError> {
    if matches!(verb, Verb::Store | Verb::Other) {
        // Read (so git's write never fails on a closed pipe) and ignored.
        return Ok(Need::Done);
    }
    let req = parse(input)?;
    let Some(host) = req.host.clone().filter(|h| !h.is_empty()) else {
        // Nothing to go on (git always sends a host for http): no answer, git moves on.
        return Ok(Need::Done);
    };
    let q = ToolQuery {
        tool: "git".into(),
        host: Some(host),
        protocol: req.protocol.clone(),
        username: req.username.clone(),
        ..Default::default()
    };
    match verb {
        Verb::Get => Ok(Need::HandOut(q)),
        _ => match req.password {
            Some(p) if !p.is_empty() => Ok(Need::Erase(q, p)),
            _ => Ok(Need::Done),
        },
    }
}

/// `username=`, `password=`, `password_expiry_utc=`.
pub(crate) fn answer(reply: &TokenReply) -> Result<Zeroizing<String>, ProtoError> {
    let username = reply.username.as_deref().unwrap_or("oauth2");
    let mut out = Zeroizing::new(String::with_capacity(reply.token.len() + 96));
    out.push_str("username=");
    out.push_str(one_line("username", username)?);
    out.push_str("\npassword=");
    out.push_str(one_line("token", &reply.token)?);
    out.push('\n');
    if let Some(t) = reply.expires_at.as_deref().and_then(crate::unix_of_rfc3339) {
        out.push_str(&format!("password_expiry_utc={t}\n"));
    }
    Ok(out)
}
