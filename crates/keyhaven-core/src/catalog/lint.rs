//! Checks across catalog entries that one file's `validate` cannot make: the mistakes of a
//! catalog grown by copying the closest entry. Run by the catalog tests over the embedded
//! entries and by `cargo run -p keyhaven-core --example check-providers` over files being
//! written.
//!
//! - **Copied endpoints**: two entries with the same endpoint URL are a copy-paste mistake
//!   unless one names the other in `shares_endpoints_with` (one sign-in for two products).
//! - **Unrelated documentation**: every endpoint must live under the registrable domain of the
//!   entry's `docs_url`, or one listed in `domains`. An endpoint whose host is entirely the
//!   person's own (`https://${host}/...`, a self-hosted server) is exempt.
//! - **Aliases**: unique across the catalog, and never another entry's id.

use std::collections::{BTreeMap, BTreeSet};

use url::Url;

use super::ProviderDef;

/// Every problem found across `defs`, one line each, naming the entries.
pub fn lint<'a>(defs: impl IntoIterator<Item = &'a ProviderDef>) -> Vec<String> {
    let defs: Vec<&ProviderDef> = defs.into_iter().collect();
    let ids: BTreeSet<&str> = defs.iter().map(|d| d.id.as_str()).collect();
    let mut problems = Vec::new();

    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for d in &defs {
        for a in &d.aliases {
            if ids.contains(a.as_str()) {
                problems.push(format!("{}: alias {a:?} is another entry's id", d.id));
            } else if let Some(other) = names.insert(a, &d.id) {
                problems.push(format!("{}: alias {a:?} is also an alias of {other}", d.id));
            }
        }
        for s in &d.shares_endpoints_with {
            if !ids.contains(s.as_str()) {
                problems.push(format!(
                    "{}: shares_endpoints_with names no entry {s:?}",
                    d.id
                ));
            }
        }
    }

    let mut seen: BTreeMap<String, Vec<&ProviderDef>> = BTreeMap::new();
    for d in &defs {
        // A server of the person's own (`https://${host}/oauth/authorize`) may run any product:
        // two self-hosted products with the same paths are not a copy.
        for url in endpoints(d).into_iter().filter(|u| !own_host(u)) {
            let owners = seen.entry(url.clone()).or_default();
            for other in owners.iter() {
                let declared = d.shares_endpoints_with.contains(&other.id)
                    || other.shares_endpoints_with.contains(&d.id);
                if !declared {
                    problems.push(format!(
                        "{} and {} share the endpoint {url}: a copy-paste mistake, or name \
                         the other in shares_endpoints_with",
                        other.id, d.id
                    ));
                }
            }
            owners.push(d);
        }
    }

    for d in &defs {
        problems.extend(unrelated_endpoints(d));
    }
    problems
}

/// The entry's endpoint templates, as written (before variables are filled in).
fn endpoints(d: &ProviderDef) -> BTreeSet<String> {
    [
        &d.issuer,
        &d.authorization_url,
        &d.token_url,
        &d.revocation_url,
        &d.userinfo_url,
        &d.device_authorization_url,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .chain(d.verify.as_ref().map(|v| v.url.clone()))
    .chain(d.mcp.as_ref().map(|m| m.url.clone()))
    .collect()
}

/// Endpoints under none of the entry's domains.
fn unrelated_endpoints(d: &ProviderDef) -> Vec<String> {
    let Some(docs) = Url::parse(&d.docs_url)
        .ok()
        .and_then(|u| u.host_str().map(registrable_domain))
    else {
        return vec![format!("{}: docs_url has no host", d.id)];
    };
    let allowed: BTreeSet<String> = std::iter::once(docs)
        .chain(d.domains.iter().map(|x| x.to_ascii_lowercase()))
        .collect();
    let examples: BTreeMap<String, String> = d
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), v.example.clone()))
        .collect();
    let mut out = Vec::new();
    for template in endpoints(d) {
        // A host that is wholly the person's own (a self-hosted server) says nothing.
        if own_host(&template) {
            continue;
        }
        let mut filled = template.clone();
        for (k, v) in &examples {
            filled = filled.replace(&format!("${{{k}}}"), v);
        }
        let Some(host) = Url::parse(&filled)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
        else {
            continue; // `${field:...}` in a path: validate() checks those URLs
        };
        let domain = registrable_domain(&host);
        if !allowed.contains(&domain) {
            out.push(format!(
                "{}: endpoint {template} is under {domain}, which is neither docs_url's domain \
                 nor in domains = [...]",
                d.id
            ));
        }
    }
    out
}

/// Whether the URL template's host is wholly a variable (`https://${host}/...`, or a whole URL
/// such as `${check_url}`): a server of the person's own.
fn own_host(template: &str) -> bool {
    let host_part = template
        .strip_prefix("https://")
        .or_else(|| template.strip_prefix("http://"))
        .unwrap_or(template);
    let host = host_part.split(['/', '?', ':']).next().unwrap_or_default();
    host.starts_with("${") && host.ends_with('}') && host.matches("${").count() == 1
}

/// The registrable part of a host name: its last two labels, or three under a two-letter
/// country code's second level (`example.co.uk`). Close enough for the catalog's own hosts; no
/// public-suffix list is needed to tell `github.com` from `gitlab.com`.
pub fn registrable_domain(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    let take = if n >= 3
        && labels[n - 1].len() == 2
        && ["co", "com", "net", "org", "gov", "ac", "edu", "ne", "or"].contains(&labels[n - 2])
    {
        3
    } else {
        2
    };
    labels[n.saturating_sub(take)..].join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(text: &str) -> ProviderDef {
        toml::from_str(text).unwrap()
    }

    const A: &str = r#"
        id = "a"
        name = "A"
        categories = ["generic"]
        docs_url = "https://docs.a.example.com/oauth"
        auth_mode = "oauth2"
        authorization_url = "https://login.a.example.com/authorize"
        token_url = "https://login.a.example.com/token"
        [identity]
        source = "id_token"
        fields = ["/sub"]
    "#;

    #[test]
    fn registrable_domains() {
        assert_eq!(registrable_domain("api.github.com"), "github.com");
        assert_eq!(
            registrable_domain("login.microsoftonline.com"),
            "microsoftonline.com"
        );
        assert_eq!(registrable_domain("api.example.co.uk"), "example.co.uk");
        assert_eq!(registrable_domain("localhost"), "localhost");
    }

    #[test]
    fn a_copied_endpoint_is_caught_unless_declared() {
        let a = def(A);
        let b = def(&A.replace("id = \"a\"", "id = \"b\""));
        let problems = lint([&a, &b]);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("a and b share the endpoint")),
            "{problems:?}"
        );
        let mut b2 = b.clone();
        b2.shares_endpoints_with = vec!["a".into()];
        assert!(lint([&a, &b2]).is_empty(), "{:?}", lint([&a, &b2]));
        b2.shares_endpoints_with = vec!["nobody".into()];
        assert!(lint([&a, &b2]).iter().any(|p| p.contains("names no entry")));
    }

    #[test]
    fn documentation_must_be_related_to_the_endpoints() {
        let a = def(&A.replace(
            "https://docs.a.example.com/oauth",
            "https://docs.other.org/a",
        ));
        let problems = lint([&a]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("under example.com"), "{problems:?}");
        let mut a2 = a.clone();
        a2.domains = vec!["example.com".into()];
        assert!(lint([&a2]).is_empty());
        // A self-hosted server's host is the person's own.
        let own = def(&A
            .replace("https://docs.a.example.com/oauth", "https://docs.other.org/a")
            .replace("login.a.example.com", "${host}")
            .replace("[identity]", "[variables.host]\nlabel = \"Host\"\npattern = \"[a-z.]+\"\nexample = \"h.example.net\"\n[identity]"));
        assert!(lint([&own]).is_empty(), "{:?}", lint([&own]));
        let mut other = own.clone();
        other.id = "other".into();
        assert!(
            lint([&own, &other]).is_empty(),
            "self-hosted paths are not copies"
        );
    }

    #[test]
    fn aliases_are_unique_and_never_an_id() {
        let mut a = def(A);
        a.aliases = vec!["b".into()];
        let mut b = def(&A
            .replace("id = \"a\"", "id = \"b\"")
            .replace("login.a", "login.b"));
        b.aliases = vec!["same".into()];
        a.aliases.push("same".into());
        let problems = lint([&a, &b]);
        assert!(
            problems.iter().any(|p| p.contains("another entry's id")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("also an alias")),
            "{problems:?}"
        );
    }
}
