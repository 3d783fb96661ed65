//! A stored secret never goes anywhere it was not issued for (docs/security.md, SEC-39, SEC-42,
//! SEC-49), against two real authorization servers (oidc-provider): one that issued the
//! tokens, and one that a redefined provider, or a mix-up, points at. Each test counts the
//! requests the second server received: the proof is that it got none.

use std::process::Stdio;

use crate::support::assert_fails;
use crate::support::oauth::{AuthServer, Flow, repo_root, wait_child, wait_for_file};

/// `providers add --id testas --issuer ISSUER ...` with the given extra arguments.
fn add_testas(f: &Flow, issuer: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "providers",
        "add",
        "--id",
        "testas",
        "--issuer",
        issuer,
        "--client-id",
        "keyhaven-native",
        "--scope",
        "openid",
        "--scope",
        "offline_access",
        "--redirect",
        "deep-link",
    ];
    args.extend_from_slice(extra);
    f.s.kh(&args)
}

fn revocations(server: &AuthServer) -> i64 {
    server.stats()["revocation"].as_i64().unwrap_or(0)
}

/// SEC-39, reproduced by the review: connect at A, redefine the provider to B, refresh and
/// disconnect. Before the fix B received 1 token request and 2 revocation requests.
#[test]
fn redefining_a_provider_sends_nothing_to_the_new_server() {
    let f = Flow::new();
    let id = f.connect("alice");
    let b = AuthServer::start();

    // Redefining is refused unless asked for, and names what would change.
    let out = add_testas(&f, &b.issuer, &[]);
    let err = assert_fails(&out, 2, "already defined");
    assert!(
        err.contains(&f.server.issuer) && err.contains("--replace"),
        "{err}"
    );
    assert!(err.contains("1 connection"), "{err}");
    let out = add_testas(&f, &b.issuer, &["--replace"]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("must be connected again"), "{said}");
    b.reset();
    f.server.reset();

    // Refresh, hand-out and disconnect: nothing reaches B (nor A: it is not asked either).
    let out = f.s.kh(&["refresh", &id]);
    let err = assert_fails(&out, 1, "nothing was sent");
    assert!(
        err.contains(&f.server.issuer),
        "names the issuing server: {err}"
    );
    let out = f.s.kh(&["token", &id]);
    assert_fails(&out, 1, "was made with");
    let list = f.connections();
    assert_eq!(list[0]["status"], "needs_reauth", "{list:?}");
    let out = f.s.kh(&["disconnect", &id]);
    assert!(out.status.success(), "{out:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("not sent"), "{said}");
    assert_eq!(b.token_total(), 0, "B got a token request");
    assert_eq!(revocations(&b), 0, "B got a revocation request");
    assert_eq!(f.server.token_total(), 0);
    assert!(f.connections().is_empty(), "deleted locally all the same");

    // The audit log says why.
    let audit = f.s.kh_ok(&["audit", "--json"]);
    assert!(audit.contains("provider_changed"), "{audit}");
}

/// A machine connection's client secret is what a redefined token endpoint would collect.
#[test]
fn a_redefined_machine_provider_gets_no_client_secret() {
    let a = AuthServer::start_with(&[("KH_AS_ACCESS_TTL", "2")]);
    let b = AuthServer::start();
    let f = Flow::with_server(a);
    let add_cc = |issuer: &str, replace: bool| {
        let mut args = vec![
            "providers",
            "add",
            "--id",
            "ccas",
            "--issuer",
            issuer,
            "--auth-mode",
            "client-credentials",
        ];
        if replace {
            args.push("--replace");
        }
        f.s.kh(&args)
    };
    assert!(add_cc(&f.server.issuer, false).status.success());
    let out = f.s.kh_input(
        &["credentials", "add", "ccas"],
        "keyhaven-confidential\nkeyhaven-confidential-secret\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(add_cc(&b.issuer, true).status.success());
    b.reset();
    f.s.advance(3); // the 2 s token expires
    let err = assert_fails(&f.s.kh(&["token", "ccas"]), 1, "nothing was sent");
    assert!(err.contains("keyhaven credentials add ccas"), "{err}");
    assert_fails(&f.s.kh(&["refresh", "ccas"]), 1, "nothing was sent");
    assert!(f.s.kh(&["disconnect", "ccas"]).status.success());
    assert_eq!(b.token_total(), 0);
    assert_eq!(revocations(&b), 0);
}

/// A revocation retried later goes where the tombstone was made, not where the provider
/// points by then.
#[test]
fn a_pending_revocation_is_retried_at_the_server_that_issued_the_token() {
    let f = Flow::new();
    let id = f.connect("alice");
    f.server.fault_json(serde_json::json!({
        "endpoint": "revocation", "mode": "status_503", "count": 2
    }));
    let out = f.s.kh(&["disconnect", &id]);
    assert!(out.status.success(), "{out:?}");
    let pending = f.s.kh_ok(&["revocations", "--json"]);
    assert!(pending.contains("refresh_token"), "{pending}");

    let b = AuthServer::start();
    assert!(add_testas(&f, &b.issuer, &["--replace"]).status.success());
    f.server.reset();
    b.reset();
    let out = f.s.kh(&["revocations", "--retry"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(revocations(&b), 0, "the retry followed the redefinition");
    assert!(
        revocations(&f.server) >= 1,
        "the retry went to the issuing server"
    );
}

/// SEC-42, RFC 9700 §4.4.2: two servers that do not send `iss` (RFC 9207). A flow started at A
/// is answered by B (a mix-up: A sent the person to B with Keyhaven's client id at B). The code
/// from B arrives on B's redirect URI, which is not A's flow's: refused before any token
/// request. With one shared redirect URI, B's code went to A's token endpoint.
#[test]
fn a_response_from_another_server_is_refused_by_its_redirect_uri() {
    let a = AuthServer::start_with(&[("KH_AS_ISS", "0"), ("KH_AS_DEEP_LINK_IDS", "asa")]);
    let b = AuthServer::start_with(&[("KH_AS_ISS", "0"), ("KH_AS_DEEP_LINK_IDS", "asb")]);
    let f = Flow::with_server(a);
    for (id, issuer) in [("asa", &f.server.issuer), ("asb", &b.issuer)] {
        f.s.kh_ok(&[
            "providers",
            "add",
            "--id",
            id,
            "--issuer",
            issuer,
            "--client-id",
            "keyhaven-native",
            "--scope",
            "openid",
            "--redirect",
            "deep-link",
        ]);
    }
    // Start at A with a "browser" that only records the URL.
    let mut child =
        f.s.command(crate::support::keyhaven_bin())
            .args(["connect", "asa", "--timeout", "60"])
            .env("BROWSER", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    let auth_url = read_authorization_url(&mut child);
    assert!(
        auth_url.contains("redirect_uri=dev.keyhaven%3A%2Foauth%2Fcallback%2Fasa"),
        "{auth_url}"
    );

    // A sends the person to B instead, asking for B's redirect URI (the only one B accepts).
    let mixed = auth_url
        .replace(&f.server.issuer, &b.issuer)
        .replace("callback%2Fasa", "callback%2Fasb");
    let redirect_file = f.s.tmp.path().join("mixup.txt");
    let status =
        f.s.command("node")
            .arg(repo_root().join("tests/oauth-server/browser.mjs"))
            .arg(&mixed)
            .env("KH_TEST_REDIRECT_FILE", &redirect_file)
            .status()
            .unwrap();
    assert!(status.success());
    let url = wait_for_file(&redirect_file);
    assert!(
        url.starts_with("dev.keyhaven:/oauth/callback/asb?"),
        "{url}"
    );
    assert!(!url.contains("iss="), "these servers send no iss: {url}");

    let out = f.handle_url(&url);
    assert_fails(&out, 2, "another redirect URI");
    assert_eq!(
        f.server.token_requests("authorization_code"),
        0,
        "B's code reached A's token endpoint"
    );
    assert_eq!(b.token_requests("authorization_code"), 0);
    let _ = child.kill();
    let _ = child.wait();
}

/// The `connect` process prints the authorization URL on stderr ("If it does not open, visit").
fn read_authorization_url(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let line = line.trim().to_string();
            if line.starts_with("http://") || line.starts_with("https://") {
                let _ = tx.send(line);
                return;
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("connect printed the authorization URL")
}

/// Each server's own deep-link URI works end to end; `handle-url -` takes the URL from stdin,
/// out of the process list (SEC-49); `connect` warns that no handler is registered here.
#[test]
fn the_per_server_redirect_uri_works_and_handle_url_reads_stdin() {
    let f = Flow::new();
    let (child, url) = f.deep_link_until_redirect(&[]);
    assert!(
        url.starts_with("dev.keyhaven:/oauth/callback/testas?"),
        "{url}"
    );
    let out = f.s.kh_input(&["handle-url", "-"], &format!("{url}\n"));
    assert!(out.status.success(), "{out:?}");
    let out = wait_child(child, 30);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("no application is registered for dev.keyhaven:"),
        "{said}"
    );
    assert_eq!(
        f.server.last_authorization()["redirect_uri"],
        "dev.keyhaven:/oauth/callback/testas"
    );
    assert_fails(&f.s.kh_input(&["handle-url", "-"], ""), 2, "no URL");
}
