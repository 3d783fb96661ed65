//! `keyhaven connect URL` with no set-up (docs/by-url.md): a resource server that answers 401
//! with RFC 9728 metadata, the real oidc-provider with dynamic client registration (RFC 7591)
//! and resource indicators (RFC 8707), and tokens the resource accepts only when their audience
//! is itself (introspection).

use std::process::Child;

use crate::support::oauth::{AuthServer, Flow, spawn_node_server, wait_child};

/// A running tests/resource-server.
struct ResourceServer {
    child: Child,
    _stdin: std::process::ChildStdin,
    resource: String,
}

impl ResourceServer {
    fn start(issuer: &str, mode: &str) -> ResourceServer {
        let (child, stdin, ready) = spawn_node_server(
            "tests/resource-server/server.mjs",
            &[
                ("KH_RS_ISSUER", issuer),
                ("KH_RS_MODE", mode),
                ("KH_RS_SLOW_MS", "30000"),
            ],
        );
        ResourceServer {
            child,
            _stdin: stdin,
            resource: ready["resource"].as_str().unwrap().to_string(),
        }
    }

    /// GET the resource with a bearer token: the status.
    fn call(&self, token: &str) -> u16 {
        reqwest::blocking::Client::new()
            .get(&self.resource)
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for ResourceServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn dcr_server() -> AuthServer {
    AuthServer::start_with(&[
        ("KH_AS_REGISTRATION", "1"),
        ("KH_AS_RESOURCE_INDICATORS", "1"),
    ])
}

/// Runs `keyhaven connect URL --json` through the scripted browser as `login`.
pub(crate) fn connect_url(f: &Flow, url: &str, login: &str) -> std::process::Output {
    let child = f.spawn_connect(
        &[url, "--json", "--timeout", "60"],
        &[("KH_TEST_LOGIN", login)],
    );
    wait_child(child, 90)
}

fn registrations(server: &AuthServer) -> i64 {
    server.stats()["registration"].as_i64().unwrap_or(0)
}

fn custom_providers(f: &Flow) -> Vec<String> {
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&f.s.kh_ok(&["providers", "list", "--json"])).unwrap();
    all.into_iter()
        .filter(|p| p["custom"] == true)
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_url_connects_with_no_client_id_and_its_token_is_for_that_resource_only() {
    let f = Flow::with_server(dcr_server());
    let rs = ResourceServer::start(&f.server.issuer, "good");
    let out = connect_url(&f, &rs.resource, "alice");
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("registered itself"), "{err}");
    let conn: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = conn["id"].as_str().unwrap().to_string();
    assert_eq!(registrations(&f.server), 1);

    // The token is for the resource: it accepts it; another resource refuses it.
    let token = f.access_token(&id);
    assert_eq!(rs.call(&token), 200);
    let other = ResourceServer::start(&f.server.issuer, "good");
    assert_eq!(
        other.call(&token),
        401,
        "a token for resource A is refused by B"
    );
    // A refresh asks for the same resource again.
    f.s.kh_ok(&["refresh", &id]);
    let refreshed = f.access_token(&id);
    assert_ne!(refreshed, token);
    assert_eq!(rs.call(&refreshed), 200);

    // Nor do the tools' helpers hand it to another host.
    f.s.kh_ok(&["setup", "git", &id, "--host", "127.0.0.1:9"]);
    let out = f.s.kh_input(
        &["git-credential", "get"],
        "protocol=http\nhost=127.0.0.1:9\n\n",
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only"),
        "{out:?}"
    );
    f.s.kh_ok(&["setup", "git", "--host", "127.0.0.1:9", "--remove"]);

    // A second connection to the same server reuses the registration.
    let out = connect_url(&f, &rs.resource, "bob");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("reusing"));
    assert_eq!(registrations(&f.server), 1);

    // The server forgets the client: the next connect registers again.
    let clients: serde_json::Value =
        reqwest::blocking::get(format!("{}/__test/clients", f.server.issuer))
            .unwrap()
            .json()
            .unwrap();
    let client_id = clients["clients"][0]["client_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a registered client: {clients}"))
        .to_string();
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/__test/delete-client", f.server.issuer))
        .json(&serde_json::json!({ "client_id": client_id }))
        .send()
        .unwrap();
    assert!(r.status().is_success());
    let out = connect_url(&f, &rs.resource, "carol");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("registered itself"));
    assert_eq!(registrations(&f.server), 2);
}

#[test]
fn hostile_metadata_is_refused_with_a_clear_message_and_nothing_is_stored() {
    let f = Flow::with_server(dcr_server());
    let before = custom_providers(&f);
    for (mode, needle) in [
        ("resource-mismatch", "another resource"),
        ("other-scheme-as", "will not use"),
        ("http-as", "will not use"),
        ("mixup", "issuer"),
        ("plain-pkce", "S256"),
        ("no-client-id", "no client_id"),
        ("oversized", "larger than"),
        ("redirect", "redirect"),
        // Answered after 30 s: the 15 s bound of every request gives up first.
        ("slow", "timeout"),
    ] {
        let rs = ResourceServer::start(&f.server.issuer, mode);
        let out = f.s.kh(&["connect", &rs.resource, "--timeout", "5"]);
        assert!(!out.status.success(), "{mode}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{mode}: {err}");
        assert_eq!(err.lines().count(), 1, "{mode}: one line: {err}");
        assert!(out.stdout.is_empty());
        assert_eq!(custom_providers(&f), before, "{mode}: nothing stored");
    }
    // A stalled well-known document is bounded the same way; nothing registered.
    assert_eq!(registrations(&f.server), 0);
    // Not https, not loopback: refused before any request.
    let out = f.s.kh(&["connect", "http://example.com/mcp"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(registrations(&f.server), 0);
}

#[test]
fn a_resource_without_the_header_is_found_at_its_well_known_url() {
    let f = Flow::with_server(dcr_server());
    let rs = ResourceServer::start(&f.server.issuer, "no-header");
    let out = connect_url(&f, &rs.resource, "alice");
    assert!(out.status.success(), "{out:?}");
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(rs.call(&f.access_token(&id)), 200);
}
