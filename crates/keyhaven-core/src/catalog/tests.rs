//! Tests over every catalog entry: each loads and validates, and each OAuth entry's authorization
//! URL comes out right (templates filled, quirk parameters present, PKCE S256).

use std::collections::BTreeMap;

use url::Url;

use super::*;
use crate::flows::build_authorization_url;

fn oauth_entries() -> Vec<&'static ProviderDef> {
    Catalog::builtin()
        .unwrap()
        .iter()
        .filter(|d| d.auth_mode == AuthMode::Oauth2)
        .collect()
}

fn examples(def: &ProviderDef) -> BTreeMap<String, String> {
    def.variables
        .iter()
        .map(|(k, v)| (k.clone(), v.example.clone()))
        .collect()
}

fn query(url: &Url) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in url.query_pairs() {
        assert!(
            m.insert(k.to_string(), v.to_string()).is_none(),
            "{k} twice in {url}"
        );
    }
    m
}

#[test]
fn every_entry_loads_and_validates() {
    let catalog = Catalog::builtin().expect("the embedded catalog loads");
    assert!(
        oauth_entries().len() >= 30,
        "at least 30 OAuth providers, found {}",
        oauth_entries().len()
    );
    for def in catalog.iter() {
        def.validate().unwrap_or_else(|e| panic!("{}: {e}", def.id));
    }
}

#[test]
fn every_oauth_entry_builds_its_authorization_url() {
    for def in oauth_entries() {
        let vars = examples(def);
        let resolved = def
            .resolve(&vars)
            .unwrap_or_else(|e| panic!("{}: {e}", def.id));
        let Some(auth) = &resolved.authorization_url else {
            // MCP entries are discovered from their endpoint when connected (docs/by-url.md).
            if let Some(m) = &def.mcp {
                assert!(def.dynamic_registration, "{}", def.id);
                assert!(m.url.starts_with("https://"), "{}: {}", def.id, m.url);
                continue;
            }
            // Discovery-only entries: the issuer must be a resolved https URL.
            let issuer = resolved
                .issuer
                .as_ref()
                .expect("issuer or authorization_url");
            assert!(!issuer.contains("${"), "{}: {issuer}", def.id);
            continue;
        };
        let redirect = match def.redirects[0] {
            RedirectKind::DeepLink => {
                crate::flows::callback::deep_link_redirect(&def.id, &resolved.vars)
            }
            RedirectKind::Loopback => "http://127.0.0.1:53682/callback".to_string(),
        };
        let url = build_authorization_url(
            def,
            auth,
            "client-123",
            &redirect,
            &def.scopes,
            "state-abc",
            "challenge-xyz",
            Some("nonce-1"),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", def.id));
        let text = url.as_str();
        assert!(
            !text.contains("${") && !text.contains("%24%7B"),
            "{}: unexpanded template in {text}",
            def.id
        );
        assert_eq!(url.scheme(), "https", "{}", def.id);
        // Every variable used in the endpoint template shows up in the URL.
        for (name, value) in &vars {
            if def
                .authorization_url
                .as_deref()
                .unwrap_or("")
                .contains(&format!("${{{name}}}"))
            {
                assert!(
                    text.contains(value.as_str()),
                    "{}: {name}={value} missing from {text}",
                    def.id
                );
            }
        }
        let q = query(&url);
        assert_eq!(q["response_type"], "code", "{}", def.id);
        assert_eq!(q["client_id"], "client-123", "{}", def.id);
        assert_eq!(q["redirect_uri"], redirect, "{}", def.id);
        assert_eq!(q["state"], "state-abc", "{}", def.id);
        assert_eq!(q["code_challenge"], "challenge-xyz", "{}", def.id);
        assert_eq!(q["code_challenge_method"], "S256", "{}", def.id);
        if !def.scopes.is_empty() {
            assert_eq!(
                q["scope"],
                def.scopes.join(&def.scope_separator),
                "{}",
                def.id
            );
        }
        for (k, v) in &def.authorization_params {
            assert_eq!(q.get(k), Some(v), "{}: quirk parameter {k} missing", def.id);
        }
    }
}

#[test]
fn required_providers_are_present() {
    let catalog = Catalog::builtin().unwrap();
    for id in [
        "github",
        "gitlab",
        "gitlab-self-managed",
        "bitbucket",
        "gitea",
        "forgejo",
        "google",
        "microsoft",
        "dropbox",
        "box",
        "asana",
        "slack",
        "notion",
        "atlassian",
        "salesforce",
        "hubspot",
        "zoho",
        "shopify",
        "linear",
        "figma",
        "discord",
        "spotify",
        "twitch",
        "digitalocean",
        "linode",
        "xero",
        "quickbooks",
        "okta",
        "auth0",
        "keycloak",
    ] {
        assert!(catalog.get(id).is_some(), "missing provider {id}");
    }
}

#[test]
fn quirks_live_in_data() {
    let c = Catalog::builtin().unwrap();
    let google = c.get("google").unwrap();
    assert_eq!(
        google
            .authorization_params
            .get("access_type")
            .map(String::as_str),
        Some("offline")
    );
    assert_eq!(
        google
            .authorization_params
            .get("prompt")
            .map(String::as_str),
        Some("consent")
    );
    assert!(
        c.get("microsoft")
            .unwrap()
            .scopes
            .iter()
            .any(|s| s == "offline_access")
    );
    assert_eq!(
        c.get("notion").unwrap().token_auth_method,
        TokenAuthMethod::ClientSecretBasic
    );
    assert_eq!(
        c.get("slack").unwrap().token_response,
        TokenResponseShape::SlackV2
    );
    assert_eq!(
        c.get("github").unwrap().token_response,
        TokenResponseShape::Github
    );
    assert_eq!(
        c.get("dropbox")
            .unwrap()
            .authorization_params
            .get("token_access_type")
            .map(String::as_str),
        Some("offline")
    );
}

#[test]
fn template_variables_are_validated_and_defaulted() {
    let c = Catalog::builtin().unwrap();
    let ms = c.get("microsoft").unwrap();
    let r = ms.resolve(&BTreeMap::new()).unwrap();
    assert!(
        r.authorization_url.unwrap().contains("/common/"),
        "tenant defaults to common"
    );
    let shop = c.get("shopify").unwrap();
    for hostile in ["evil.com/x?", "a.b", "shop/../x", "", "UPPER..", "x y"] {
        let vars = BTreeMap::from([("shop".to_string(), hostile.to_string())]);
        let e = shop.resolve(&vars).unwrap_err();
        assert!(matches!(e, Error::BadVariable { .. }), "{hostile}: {e:?}");
    }
    let e = shop.resolve(&BTreeMap::new()).unwrap_err();
    assert!(e.to_string().contains("--var shop="), "{e}");
    let e = ms
        .resolve(&BTreeMap::from([("nope".to_string(), "x".to_string())]))
        .unwrap_err();
    assert!(e.to_string().contains("no variable nope"), "{e}");
}

#[test]
fn endpoint_urls_must_be_https_or_loopback_http() {
    assert!(check_endpoint_url("https://example.com/x").is_ok());
    assert!(check_endpoint_url("http://127.0.0.1:8080/x").is_ok());
    assert!(check_endpoint_url("http://[::1]:8080/x").is_ok());
    assert!(check_endpoint_url("http://localhost/x").is_ok());
    assert!(
        check_endpoint_url("http://example.com/x")
            .unwrap_err()
            .contains("loopback")
    );
    assert!(check_endpoint_url("file:///etc/passwd").is_err());
    assert!(check_endpoint_url("javascript:alert(1)").is_err());
}

#[test]
fn bad_definitions_are_refused_with_a_reason() {
    let base = r#"
        id = "x"
        name = "X"
        docs_url = "https://x.example/docs"
        auth_mode = "oauth2"
        authorization_url = "https://x.example/auth"
        token_url = "https://x.example/token"
        [identity]
        source = "userinfo"
        fields = ["/sub"]
    "#;
    assert!(
        ProviderDef::from_toml(base)
            .unwrap_err()
            .contains("userinfo_url")
    );
    let ok = format!("{base}\nuserinfo_url = \"https://x.example/me\"\n");
    // Order in TOML: top-level keys after a table belong to the table; put it first instead.
    let ok = ok.replace(
        "[identity]",
        "userinfo_url = \"https://x.example/me\"\n[identity]",
    );
    let ok = ok.replace("\nuserinfo_url = \"https://x.example/me\"\n", "\n");
    ProviderDef::from_toml(&ok).unwrap();
    let http = ok.replace("https://x.example/token", "http://x.example/token");
    assert!(
        ProviderDef::from_toml(&http)
            .unwrap_err()
            .contains("loopback")
    );
    let unknown = ok.replace("auth_mode", "surprise = 1\nauth_mode");
    assert!(
        ProviderDef::from_toml(&unknown)
            .unwrap_err()
            .contains("surprise")
    );
    let tmpl = ok.replace("https://x.example/auth", "https://${host}/auth");
    assert!(ProviderDef::from_toml(&tmpl).unwrap_err().contains("host"));
}
