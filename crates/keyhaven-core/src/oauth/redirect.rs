//! Keyhaven's deep-link redirect URIs, one per authorization server (SEC-42). Lives in the
//! OAuth layer because both the flows (the URI a sign-in uses) and the provider screens (the URI
//! a person registers with their app) need it; parsing what comes back is `flows::callback`.

use std::collections::BTreeMap;

/// The common start of Keyhaven's custom-scheme redirect URIs (RFC 8252 §7.1, reverse domain).
pub const DEEP_LINK_PREFIX: &str = "dev.keyhaven:/oauth/callback";

/// The deep-link redirect URI of one authorization server (SEC-42, RFC 9700 §4.4.2):
/// `dev.keyhaven:/oauth/callback/<provider-id>`, plus one segment per template variable value
/// (in variable-name order) for a templated provider, e.g.
/// `dev.keyhaven:/oauth/callback/gitlab-self-managed/gitlab.example.com`.
///
/// Why distinct: with one shared redirect URI, an authorization server that does not send `iss`
/// (RFC 9207) could answer for another one (a mix-up), and its code would be redeemed at the
/// wrong token endpoint. Each server's response now arrives on a URI only that server's client
/// registration has, and a flow refuses a response on any URI but its own before any request.
pub fn deep_link_redirect(provider_id: &str, vars: &BTreeMap<String, String>) -> String {
    let mut uri = format!("{DEEP_LINK_PREFIX}/{}", segment(provider_id));
    for value in vars.values() {
        uri.push('/');
        uri.push_str(&segment(value));
    }
    uri
}

/// The redirect URI to register for a templated provider before its values are known:
/// `${name}` stands for each variable's value.
pub fn deep_link_redirect_template(provider_id: &str, var_names: &[&str]) -> String {
    let mut uri = format!("{DEEP_LINK_PREFIX}/{}", segment(provider_id));
    for name in var_names {
        uri.push_str(&format!("/${{{name}}}"));
    }
    uri
}

/// A path segment: unreserved characters kept, everything else percent-encoded.
fn segment(value: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, KEEP).to_string()
}
/// Largest redirect URL accepted.
pub const MAX_URL_LEN: usize = 8 * 1024;
