//! What a connection was issued with, and the check that keeps its secrets there (SEC-39).
//!
//! A refresh token, an access token and a machine client's secret belong to the authorization
//! server that issued them. Endpoints, however, are resolved from the provider's *current*
//! definition each time (catalog entry, custom definition, discovery), and a custom definition
//! can be replaced later (`providers add --replace`, a backup import). Without a record of the
//! original server, redefining a provider would send every stored refresh token to the new
//! token endpoint at the next refresh, and both tokens to the new revocation endpoint at
//! disconnect (found by review, reproduced end to end).
//!
//! So each connection records, when it is created, the issuer, the origins (scheme, host, port)
//! of the token and revocation endpoints, and the client id it was issued to. Refresh,
//! revocation and every hand-out compare the current definition with that record first; on any
//! difference nothing is sent and the connection must be made again. Origins rather than whole
//! URLs: a provider may move an endpoint's path within its own server (a Keyhaven update of the
//! catalog), which sends nothing to anyone new.
//!
//! A part not known when the connection was made (an endpoint found by discovery later, or a
//! connection made before this record existed) is recorded the first time it is seen: trust on
//! first use, after which it is fixed like the rest.

use serde::{Deserialize, Serialize};

/// The record: every part optional, because not every provider has every part (an API key has
/// none; a provider without revocation has no revocation origin).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedWith {
    /// The issuer identifier (RFC 8414 / OIDC), as resolved when the connection was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Origin of the token endpoint, e.g. `https://oauth2.googleapis.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_origin: Option<String>,
    /// Origin of the revocation endpoint (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_origin: Option<String>,
    /// The OAuth client the tokens were issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The origin (`scheme://host[:port]`) of a URL; the URL itself when it does not parse (it then
/// compares unequal to any real origin, which is the safe side).
pub fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => url.to_string(),
    }
}

impl IssuedWith {
    /// A record from endpoint URLs as they are now.
    pub fn from_urls(
        issuer: Option<&str>,
        token_url: Option<&str>,
        revocation_url: Option<&str>,
        client_id: Option<&str>,
    ) -> IssuedWith {
        IssuedWith {
            issuer: issuer.map(str::to_string),
            token_origin: token_url.map(origin),
            revocation_origin: revocation_url.map(origin),
            client_id: client_id.map(str::to_string),
        }
    }

    /// Compares what is known now (`current`) with this record.
    ///
    /// - A part recorded here and different (or absent) now: `Err` naming it, before and after.
    /// - A part known now and not recorded: filled in (trust on first use); the filled record is
    ///   returned as `Ok(Some(..))` for the caller to store.
    /// - A part not known now (`None` in `current`, e.g. an endpoint that needs discovery on a
    ///   path that does not discover) is not compared.
    pub fn check(&self, current: &Partial) -> Result<Option<IssuedWith>, String> {
        let mut filled = self.clone();
        let mut changed = false;
        let mut part = |what: &str, recorded: &mut Option<String>, now: &Option<Option<String>>| {
            let Some(now) = now else { return Ok(()) };
            match (&*recorded, now) {
                (Some(was), Some(is)) if was == is => Ok(()),
                (Some(was), Some(is)) => {
                    Err(format!("{what} {was}, but the provider now names {is}"))
                }
                (Some(was), None) => Err(format!("{what} {was}, which the provider no longer has")),
                (None, Some(is)) => {
                    *recorded = Some(is.clone());
                    changed = true;
                    Ok(())
                }
                (None, None) => Ok(()),
            }
        };
        part("issuer", &mut filled.issuer, &current.issuer)?;
        part(
            "token endpoint",
            &mut filled.token_origin,
            &current.token_origin,
        )?;
        part(
            "revocation endpoint",
            &mut filled.revocation_origin,
            &current.revocation_origin,
        )?;
        part("OAuth client", &mut filled.client_id, &current.client_id)?;
        Ok(changed.then_some(filled))
    }
}

/// What is known about a provider's endpoints at one moment. Each part is `None` when it was
/// not determined (not compared), `Some(None)` when the provider has none, `Some(Some(v))`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partial {
    /// Issuer.
    pub issuer: Option<Option<String>>,
    /// Token endpoint origin.
    pub token_origin: Option<Option<String>>,
    /// Revocation endpoint origin.
    pub revocation_origin: Option<Option<String>>,
    /// Client id.
    pub client_id: Option<Option<String>>,
}

impl Partial {
    /// Everything determined, from a complete record.
    pub fn complete(r: &IssuedWith) -> Partial {
        Partial {
            issuer: Some(r.issuer.clone()),
            token_origin: Some(r.token_origin.clone()),
            revocation_origin: Some(r.revocation_origin.clone()),
            client_id: Some(r.client_id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> IssuedWith {
        IssuedWith::from_urls(
            Some("https://as.example"),
            Some("https://as.example/token"),
            Some("https://as.example/revoke"),
            Some("app"),
        )
    }

    #[test]
    fn origins_ignore_paths_but_not_hosts_ports_or_schemes() {
        assert_eq!(origin("https://as.example/a/b?c"), "https://as.example");
        assert_eq!(origin("https://as.example:443/x"), "https://as.example");
        assert_ne!(origin("https://as.example:8443/x"), "https://as.example");
        assert_ne!(origin("http://as.example/x"), "https://as.example");
    }

    #[test]
    fn a_moved_path_passes_and_another_server_is_refused() {
        let r = rec();
        let same = IssuedWith::from_urls(
            Some("https://as.example"),
            Some("https://as.example/oauth/v2/token"),
            Some("https://as.example/revoke"),
            Some("app"),
        );
        assert_eq!(r.check(&Partial::complete(&same)), Ok(None));
        let evil = IssuedWith {
            token_origin: Some("https://evil.example".into()),
            ..r.clone()
        };
        let e = r.check(&Partial::complete(&evil)).unwrap_err();
        assert!(
            e.contains("token endpoint https://as.example") && e.contains("evil"),
            "{e}"
        );
        let other_app = IssuedWith {
            client_id: Some("other".into()),
            ..r.clone()
        };
        assert!(r.check(&Partial::complete(&other_app)).is_err());
        let no_revocation = IssuedWith {
            revocation_origin: None,
            ..r.clone()
        };
        assert!(
            r.check(&Partial::complete(&no_revocation))
                .unwrap_err()
                .contains("no longer has")
        );
    }

    #[test]
    fn unknown_parts_are_filled_once_and_then_fixed() {
        let legacy = IssuedWith::default();
        let filled = legacy.check(&Partial::complete(&rec())).unwrap().unwrap();
        assert_eq!(filled, rec());
        // Parts not determined now are not compared.
        let only_issuer = Partial {
            issuer: Some(Some("https://as.example".into())),
            ..Default::default()
        };
        assert_eq!(rec().check(&only_issuer), Ok(None));
        let other_issuer = Partial {
            issuer: Some(Some("https://evil.example".into())),
            ..Default::default()
        };
        assert!(rec().check(&other_issuer).is_err());
    }
}
