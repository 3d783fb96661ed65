//! Machine grants against the real server: client credentials (a confidential client is the
//! account; a new token is fetched on expiry, once however many ask) and how `credentials add`
//! takes, checks and refuses values.

use std::process::Stdio;

use crate::support::oauth::{AuthServer, wait_child};
use crate::support::{Session, assert_fails, keyhaven_bin};

const CLIENT: &str = "keyhaven-confidential";
const SECRET: &str = "keyhaven-confidential-secret";

/// A vault with the test server as custom client-credentials provider `ccas`; access tokens
/// live 3 s.
fn setup() -> (Session, AuthServer) {
    let server = AuthServer::start_with(&[("KH_AS_ACCESS_TTL", "3")]);
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    s.kh_ok(&[
        "providers",
        "add",
        "--id",
        "ccas",
        "--issuer",
        &server.issuer,
        "--auth-mode",
        "client-credentials",
        "--scope",
        "api:read",
    ]);
    (s, server)
}

fn add(s: &Session, input: &str) -> std::process::Output {
    s.kh_input(&["credentials", "add", "ccas", "--json"], input)
}

#[test]
fn client_credentials_connects_verifies_and_renews_once_per_expiry() {
    let (s, server) = setup();
    let out = add(&s, &format!("{CLIENT}\n{SECRET}\n"));
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["account"], CLIENT);
    assert_eq!(report["verified"], true);
    assert_eq!(server.token_requests("client_credentials"), 1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(SECRET), "the secret is never printed");

    let first = s.kh_ok(&["token", "ccas"]).trim().to_string();
    assert!(server.introspect(&first), "the server issued this token");
    assert_eq!(
        server.token_requests("client_credentials"),
        1,
        "a valid token is reused"
    );
    let list: serde_json::Value = serde_json::from_str(&s.kh_ok(&["list", "--json"])).unwrap();
    assert_eq!(list[0]["scopes"], serde_json::json!(["api:read"]));

    // After expiry, five processes at once: one new grant, the same new token for all.
    s.advance(4); // past the 3 s expiry
    let list: serde_json::Value = serde_json::from_str(&s.kh_ok(&["list", "--json"])).unwrap();
    // The token has expired, and says so; the connection renews it at its next use.
    assert_eq!(list[0]["status"], "expired");
    assert_eq!(
        list[0]["renewable"], true,
        "a machine connection renews itself"
    );
    let procs: Vec<_> = (0..5)
        .map(|_| {
            s.command(keyhaven_bin())
                .args(["token", "ccas"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let tokens: Vec<String> = procs
        .into_iter()
        .map(|p| {
            let o = wait_child(p, 60);
            assert!(o.status.success(), "{o:?}");
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
        .collect();
    assert!(tokens.iter().all(|t| t == &tokens[0]), "{tokens:?}");
    assert_ne!(tokens[0], first);
    assert!(server.introspect(&tokens[0]));
    assert_eq!(
        server.token_requests("client_credentials"),
        2,
        "exactly one renewal for five callers"
    );
    let audit = s.kh_ok(&["audit", "--connection", "ccas"]);
    assert!(audit.contains("token.refreshed"), "{audit}");
}

#[test]
fn wrong_client_secret_is_refused_and_nothing_is_stored() {
    let (s, server) = setup();
    let out = add(&s, &format!("{CLIENT}\nnot-the-secret\n"));
    // The caller's bad input: exit 2, as any rejected credentials, said like a failed check.
    let err = assert_fails(&out, 2, "refused these credentials (invalid_client");
    assert!(!err.contains("not-the-secret"), "{err}");
    assert_eq!(server.token_requests("client_credentials"), 1);
    assert_eq!(s.kh_ok(&["list", "--json"]).trim(), "[]");
}

#[test]
fn no_verify_stores_offline_and_the_first_token_call_fetches_one() {
    let (s, server) = setup();
    let out = s.kh_input(
        &["credentials", "add", "ccas", "--no-verify"],
        &format!("{CLIENT}\n{SECRET}\n"),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(server.token_requests("client_credentials"), 0, "no call");
    let token = s.kh_ok(&["token", "ccas"]);
    assert!(server.introspect(token.trim()));
    assert_eq!(server.token_requests("client_credentials"), 1);
}

#[test]
fn credentials_add_refuses_bad_input_with_exit_2() {
    let (s, _server) = setup();
    // A secret on the command line.
    let out = s.kh(&[
        "credentials",
        "add",
        "ccas",
        "--field",
        &format!("client_secret={SECRET}"),
    ]);
    let err = assert_fails(&out, 2, "client_secret is secret");
    assert!(!err.contains(SECRET));
    // stdin ends before the secret.
    let out = s.kh_input(&["credentials", "add", "ccas"], &format!("{CLIENT}\n"));
    assert_fails(&out, 2, "stdin ended");
    // A field the provider does not have.
    let out = s.kh_input(
        &["credentials", "add", "ccas", "--field", "region=eu"],
        "x\ny\n",
    );
    assert_fails(&out, 2, "has no field \"region\"");
    // A browser provider.
    let out = s.kh(&["credentials", "add", "github"]);
    assert_fails(&out, 2, "keyhaven connect github");
    // `connect` on a machine provider points to credentials add.
    let out = s.kh(&["connect", "ccas"]);
    assert_fails(&out, 2, "keyhaven credentials add ccas");
    assert_eq!(s.kh_ok(&["list", "--json"]).trim(), "[]");
}
