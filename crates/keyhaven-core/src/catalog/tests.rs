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
    let keys = catalog
        .iter()
        .filter(|d| matches!(d.auth_mode, AuthMode::ApiKey | AuthMode::Basic))
        .count();
    assert!(
        oauth_entries().len() >= 100,
        "at least 100 OAuth providers, found {}",
        oauth_entries().len()
    );
    assert!(
        keys >= 50,
        "at least 50 API-key and Basic providers, found {keys}"
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
        categories = ["generic"]
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

#[test]
fn no_entry_copies_another_or_documents_an_unrelated_service() {
    let problems = lint::lint(Catalog::builtin().unwrap().iter());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_file_opens_with_where_its_facts_come_from() {
    for file in PROVIDERS_DIR.files() {
        let text = file.contents_utf8().unwrap();
        assert!(
            text.starts_with('#'),
            "{}: start with a comment naming the documentation and the quirks",
            file.path().display()
        );
    }
}

#[test]
fn categories_and_aliases_find_entries() {
    let c = Catalog::builtin().unwrap();
    for def in c.iter() {
        assert!(category(&def.categories[0]).is_some(), "{}", def.id);
    }
    let x = c.iter().find(|d| d.aliases.iter().any(|a| a == "twitter"));
    assert_eq!(x.map(|d| d.id.as_str()), Some("x"));
    let ms = c.iter().find(|d| d.aliases.iter().any(|a| a == "onedrive"));
    assert_eq!(ms.map(|d| d.id.as_str()), Some("microsoft"));
    // A category outside the vocabulary is refused with the closest one.
    let github = PROVIDERS_DIR
        .get_file("github.toml")
        .and_then(|f| f.contents_utf8())
        .unwrap();
    let with = |categories: &str| {
        github.replace(
            r#"categories = ["dev-tools", "source-control"]"#,
            categories,
        )
    };
    let e = ProviderDef::from_toml(&with(r#"categories = ["dev-tool"]"#)).unwrap_err();
    assert!(e.contains("did you mean dev-tools"), "{e}");
    let none = with("categories = []");
    assert!(
        ProviderDef::from_toml(&none)
            .unwrap_err()
            .contains("at least one")
    );
}

/// docs/catalog.md is generated from the files: every entry with its category, auth, check and
/// variables, and whether its header marks facts UNCONFIRMED.
#[test]
fn the_catalog_page_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/catalog.md");
    let want = catalog_page();
    if std::env::var_os("KEYHAVEN_UPDATE_GENERATED").is_some() {
        std::fs::write(path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/catalog.md is stale: KEYHAVEN_UPDATE_GENERATED=1 cargo test -p keyhaven-core --lib catalog_page"
    );
}

fn catalog_page() -> String {
    let c = Catalog::builtin().unwrap();
    let count = |f: &dyn Fn(&ProviderDef) -> bool| c.iter().filter(|d| f(d)).count();
    let mut out = String::from(
        "# The provider catalog\n\n\
         <!-- Generated from crates/keyhaven-core/providers/*.toml by the core test \
         `the_catalog_page_is_current`; regenerate with \
         `KEYHAVEN_UPDATE_GENERATED=1 cargo test -p keyhaven-core --lib catalog_page`. -->\n\n",
    );
    out += &format!(
        "{} entries: {} browser sign-ins (OAuth 2.0), {} API-key and {} HTTP Basic entries, {} \
         machine grants. `keyhaven providers list [--category C] [--json]` prints the same \
         list; `keyhaven providers show ID` prints one entry. Each file's header comment names \
         the documentation its facts come from; the last column counts the facts it marks \
         UNCONFIRMED (docs/providers.md says how to write an entry).\n\n",
        c.len(),
        count(&|d| d.auth_mode == AuthMode::Oauth2),
        count(&|d| d.auth_mode == AuthMode::ApiKey),
        count(&|d| d.auth_mode == AuthMode::Basic),
        count(&|d| d.auth_mode.is_machine()),
    );
    for cat in CATEGORIES {
        let mut in_cat: Vec<&ProviderDef> =
            c.iter().filter(|d| d.categories[0] == cat.id).collect();
        if in_cat.is_empty() {
            continue;
        }
        in_cat.sort_by_key(|d| d.name.to_lowercase());
        out += &format!("## {}\n\n", cat.label);
        out +=
            "| id | Name | Auth | Redirects or check | Variables | Environment | Unconfirmed |\n";
        out += "| --- | --- | --- | --- | --- | --- | --- |\n";
        for d in in_cat {
            let how = match &d.verify {
                Some(v) => {
                    let url = Url::parse(&v.url.replace("${", "x").replace('}', "x"));
                    let path = url
                        .as_ref()
                        .map(|u| u.path().to_string())
                        .unwrap_or_default();
                    let scheme = serde_json::to_value(v.scheme).unwrap();
                    format!("{} `{} {path}`", scheme.as_str().unwrap(), v.method)
                }
                None if d.auth_mode == AuthMode::Oauth2 => d
                    .redirects
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                None if d.auth_mode.is_machine() => "the grant itself".into(),
                None => "not checked".into(),
            };
            let vars: Vec<String> = d.variables.keys().map(|k| format!("`{k}`")).collect();
            let env: Vec<String> = d.env.keys().map(|k| format!("`{k}`")).collect();
            let text = PROVIDERS_DIR
                .get_file(format!("{}.toml", d.id))
                .and_then(|f| f.contents_utf8())
                .unwrap_or_default();
            let unconfirmed = text.matches("UNCONFIRMED").count();
            out += &format!(
                "| `{}` | {} | {}{} | {} | {} | {} | {} |\n",
                d.id,
                d.name.replace('|', "/"),
                d.auth_mode.as_str(),
                if d.legacy { " (legacy)" } else { "" },
                how,
                if vars.is_empty() {
                    "-".into()
                } else {
                    vars.join(", ")
                },
                if env.is_empty() {
                    "-".into()
                } else {
                    env.join(", ")
                },
                if unconfirmed == 0 {
                    "-".into()
                } else {
                    unconfirmed.to_string()
                },
            );
        }
        out += "\n";
    }
    out
}
