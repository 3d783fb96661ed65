//! Connecting an account end to end against a real OpenID Connect server (oidc-provider):
//! the browser (a script) logs in and consents over HTTP; the redirect is delivered the way the
//! OS would, by `keyhaven handle-url` in a separate process, or to the loopback listener.
//! Rule numbers in the test comments (SEC-n) are those of docs/security.md, sections A and B.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::assert_fails;
use crate::support::oauth::{Flow, wait_child, with_param};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("not JSON: {out:?}"))
}

#[test]
fn deep_link_round_trip_connects_and_the_token_works_at_userinfo() {
    let f = Flow::new();
    let (child, url) = f.deep_link_until_redirect(&[]);
    assert!(
        url.starts_with("dev.keyhaven:/oauth/callback/testas?"),
        "{url}"
    );
    let out = f.handle_url(&url);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Connected testas as alice"));

    // The waiting `connect` notices and prints the connection.
    let out = wait_child(child, 30);
    assert!(out.status.success(), "{out:?}");
    let conn = json(&out);
    assert_eq!(conn["provider"], "testas");
    assert_eq!(conn["account"], "alice");
    assert_eq!(conn["status"], "connected");
    assert!(conn["expires_at"].is_string());

    // The stored access token works at the server.
    let token = f.access_token(conn["id"].as_str().unwrap());
    let (status, me) = f.server.userinfo(&token);
    assert_eq!(status, 200);
    assert_eq!(me["sub"], "alice");

    // SEC-1, SEC-2: S256, a long random state, a nonce, the exact redirect URI.
    let auth = f.server.last_authorization();
    assert_eq!(auth["code_challenge_method"], "S256");
    assert!(auth["code_challenge"].as_str().unwrap().len() >= 43);
    assert!(
        auth["state"].as_str().unwrap().len() >= 43,
        "state >= 256 bits"
    );
    assert!(auth["nonce"].as_str().unwrap().len() >= 43);
    assert_eq!(auth["redirect_uri"], "dev.keyhaven:/oauth/callback/testas");
    assert_eq!(f.server.token_requests("authorization_code"), 1);

    // show: refresh and id tokens stored, masked without --reveal.
    let shown = f.s.kh_ok(&["show", "testas"]);
    assert!(
        shown.contains("refresh_token") && shown.contains("id_token"),
        "{shown}"
    );
    assert!(!shown.contains(&token), "masked without --reveal");
}

#[test]
fn loopback_round_trip_with_a_static_page_and_the_port_closed_afterwards() {
    let f = Flow::new();
    let child = f.spawn_loopback(&[]);
    let url = f.redirect_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let out = wait_child(child, 30);
    assert!(out.status.success(), "{out:?}");
    let conn = json(&out);
    assert_eq!(conn["account"], "alice");

    let page = f.loopback_page();
    assert!(page.starts_with("200"), "{page}");
    assert!(page.contains("close this tab"), "{page}");
    let token = f.access_token(conn["id"].as_str().unwrap());
    assert!(!page.contains(&token), "no token on the page");
    assert!(!page.contains("code="), "no code on the page");

    // SEC-14: the listener is gone once the flow is done.
    let port: u16 = url["http://127.0.0.1:".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still open"
    );
}

#[test]
fn denial_is_reported_and_nothing_is_stored() {
    let f = Flow::new();
    let (child, url) = f.deep_link_until_redirect(&[("KH_TEST_DENY", "1")]);
    assert!(url.contains("error=access_denied"), "{url}");
    assert_fails(&f.handle_url(&url), 1, "access_denied");
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("access_denied"));
    assert!(f.connections().is_empty());
    assert_eq!(f.server.token_total(), 0, "no token request after a denial");
}

#[test]
fn forged_state_is_rejected_and_the_real_callback_still_works() {
    let f = Flow::new();
    let (child, url) = f.deep_link_until_redirect(&[]);
    let forged = with_param(&url, "state", Some("forged-state-value-0123456789"));
    assert_fails(&f.handle_url(&forged), 2, "does not match any sign-in");
    // No state at all.
    let stateless = with_param(&url, "state", None);
    assert_fails(&f.handle_url(&stateless), 2, "no state");
    assert_eq!(f.server.token_total(), 0);
    assert!(f.handle_url(&url).status.success());
    assert!(wait_child(child, 30).status.success());
    assert_eq!(f.server.token_requests("authorization_code"), 1);
}

#[test]
fn replayed_callback_is_rejected_with_exactly_one_code_exchange() {
    // SEC-2, SEC-11: the same URL twice, 50 ms apart.
    let f = Flow::new();
    let (child, url) = f.deep_link_until_redirect(&[]);
    let first = f
        .command(&["handle-url", &url], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let second = f.handle_url(&url);
    let first = first.wait_with_output().unwrap();
    let ok = [first.status.success(), second.status.success()];
    assert_eq!(
        ok.iter().filter(|x| **x).count(),
        1,
        "exactly one succeeds: {first:?} {second:?}"
    );
    assert!(wait_child(child, 30).status.success());
    assert_eq!(f.server.token_requests("authorization_code"), 1);
    assert_fails(&f.handle_url(&url), 2, "does not match any sign-in");
    assert_eq!(f.connections().len(), 1);
}

#[test]
fn simultaneous_delivery_by_several_processes_redeems_the_code_once() {
    // SEC-2: the same state delivered to several processes at once (CLI and GUI alike).
    let f = Flow::new();
    let (child, url) = f.deep_link_until_redirect(&[]);
    let racers: Vec<_> = (0..4)
        .map(|_| {
            f.command(&["handle-url", &url], &[])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = racers
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    assert_eq!(
        outs.iter().filter(|o| o.status.success()).count(),
        1,
        "{outs:?}"
    );
    for o in outs.iter().filter(|o| !o.status.success()) {
        assert_fails(o, 2, "does not match any sign-in");
    }
    assert!(wait_child(child, 30).status.success());
    assert_eq!(f.server.token_requests("authorization_code"), 1);
}

#[test]
fn issuer_mismatch_and_missing_iss_are_rejected() {
    // SEC-4 / RFC 9207.
    let f = Flow::new();
    for (mutation, want) in [
        (Some("http%3A%2F%2F127.0.0.1%3A1"), "issuer mismatch"),
        (None, "no iss although the server advertises it"),
    ] {
        let (child, url) = f.deep_link_until_redirect(&[]);
        assert!(url.contains("iss="), "{url}");
        let tampered = with_param(&url, "iss", mutation);
        assert_fails(&f.handle_url(&tampered), 1, want);
        let out = wait_child(child, 30);
        assert_eq!(out.status.code(), Some(1));
    }
    // The flow was consumed by the rejected callback: the genuine one no longer works either.
    assert!(f.connections().is_empty());
    assert_eq!(f.server.token_total(), 0);
    // A trailing slash is a different issuer.
    let (child, url) = f.deep_link_until_redirect(&[]);
    let iss = format!("{}/", f.server.issuer)
        .replace(':', "%3A")
        .replace('/', "%2F");
    assert_fails(
        &f.handle_url(&with_param(&url, "iss", Some(&iss))),
        1,
        "issuer mismatch",
    );
    wait_child(child, 30);
}

#[test]
fn invalid_id_tokens_are_rejected_and_nothing_is_stored() {
    // SEC-6: one token per broken rule.
    let f = Flow::new();
    for mode in [
        "id_token_bad_signature",
        "id_token_wrong_aud",
        "id_token_wrong_iss",
        "id_token_wrong_nonce",
        "id_token_expired",
        "id_token_alg_none",
        "id_token_unknown_kid",
    ] {
        f.server.fault("token", mode);
        let (child, url) = f.deep_link_until_redirect(&[]);
        let err = assert_fails(&f.handle_url(&url), 1, "id token failed validation");
        assert!(
            !err.contains("eyJ"),
            "{mode}: the token itself is not echoed: {err}"
        );
        wait_child(child, 30);
        assert!(f.connections().is_empty(), "{mode}: nothing stored");
    }
    // A key rotation (new kid, published): refetching the JWKS once makes it pass.
    f.server.fault("token", "id_token_new_kid");
    let (child, url) = f.deep_link_until_redirect(&[]);
    assert!(f.handle_url(&url).status.success());
    assert!(wait_child(child, 30).status.success());
}

#[test]
fn token_endpoint_faults_give_readable_errors_and_store_nothing() {
    let f = Flow::new();
    for (mode, want) in [
        ("status_500", "HTTP 500"),
        ("malformed_json", "not a JSON object"),
        ("html_200", "HTML page"),
        ("oauth_error:invalid_client", "invalid_client"),
        ("big_body:2000000", "larger than 1 MiB"),
        ("status_302", "redirect, which Keyhaven does not follow"),
    ] {
        f.server.fault("token", mode);
        let (child, url) = f.deep_link_until_redirect(&[]);
        assert_fails(&f.handle_url(&url), 1, want);
        wait_child(child, 30);
        assert!(f.connections().is_empty(), "{mode}");
    }
}

#[test]
fn a_hanging_token_endpoint_fails_within_the_time_budget() {
    let f = Flow::new();
    f.server.fault("token", "hang");
    let (child, url) = f.deep_link_until_redirect(&[]);
    let t = Instant::now();
    assert_fails(&f.handle_url(&url), 1, "timeout");
    let took = t.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "whole request budget is 15 s, took {took:?}"
    );
    wait_child(child, 30);
}

#[test]
fn hostile_deep_links_are_rejected_cheaply_without_a_token_request() {
    // SEC-9, SEC-12.
    let f = Flow::new();
    let (child, url) = f.deep_link_until_redirect(&[]);
    let huge = format!("{url}&pad={}", "a".repeat(100 * 1024));
    let cases = [
        (format!("{url}&code=second"), "repeats a parameter"),
        (huge, "8 KiB"),
        (
            url.replacen("code=", "code=%zz", 1),
            "invalid percent-encoding",
        ),
        (url.replacen('?', "#", 1), "fragment"),
        (
            url.replacen("dev.keyhaven:", "keyhaven:", 1),
            "not a Keyhaven redirect",
        ),
        (
            url.replacen("/oauth/callback", "/oauth/elsewhere", 1),
            "wrong path",
        ),
        (format!("{url}\" --flag=x"), "quotes"),
        (
            "dev.keyhaven:/oauth/callback/testas?code=%00&state=x".to_string(),
            "NUL",
        ),
    ];
    for (bad, want) in &cases {
        assert_fails(&f.handle_url(bad), 2, want);
    }
    assert_eq!(
        f.server.token_total(),
        0,
        "no token request for any hostile link"
    );
    // The genuine link still completes afterwards.
    assert!(f.handle_url(&url).status.success());
    assert!(wait_child(child, 30).status.success());
}

#[test]
fn the_same_account_again_updates_in_place_and_another_account_is_separate() {
    let f = Flow::new();
    for login in ["alice", "alice", "bob"] {
        let (child, url) = f.deep_link_until_redirect(&[("KH_TEST_LOGIN", login)]);
        assert!(f.handle_url(&url).status.success());
        assert!(wait_child(child, 30).status.success());
    }
    let conns = f.connections();
    let accounts: Vec<_> = conns
        .iter()
        .map(|c| c["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["alice", "bob"]);
    // PROVIDER alone is ambiguous now; PROVIDER:ACCOUNT is not.
    assert_fails(&f.s.kh(&["show", "testas"]), 2, "has 2 connections");
    f.s.kh_ok(&["show", "testas:bob"]);
}

#[test]
fn connect_errors_before_the_browser_opens() {
    let f = Flow::new();
    let err = assert_fails(
        &f.s.kh(&["connect", "github"]),
        2,
        "no OAuth app configured for github",
    );
    assert!(
        err.contains("keyhaven providers configure github --client-id"),
        "{err}"
    );
    assert_fails(
        &f.s.kh(&["connect", "no-such-provider"]),
        2,
        "unknown provider",
    );
    assert_fails(&f.s.kh(&["connect", "shopify"]), 2, "no OAuth app");
    let secret = f.s.tmp.path().join("secret.txt");
    std::fs::write(&secret, "shh\n").unwrap();
    f.s.kh_ok(&[
        "providers",
        "configure",
        "shopify",
        "--client-id",
        "abc",
        "--client-secret-file",
        secret.to_str().unwrap(),
    ]);
    assert_fails(&f.s.kh(&["connect", "shopify"]), 2, "--var shop=");
    assert_fails(
        &f.s.kh(&["connect", "shopify", "--var", "shop=evil.com/x?"]),
        2,
        "not a valid",
    );
    assert_fails(
        &f.s.kh(&["connect", "google", "--redirect", "deep-link"]),
        2,
        "does not accept deep-link",
    );
    assert_fails(
        &f.s.kh(&["providers", "configure", "google", "--client-id", "x"]),
        2,
        "requires a client secret",
    );
    // Nothing was left pending by the refused attempts.
    assert_eq!(f.s.status_json()["counts"]["pending_flows"], 0);
}

#[test]
fn custom_providers_by_discovery_only_over_https_or_loopback() {
    let f = Flow::new();
    assert_fails(
        &f.s.kh(&[
            "providers",
            "add",
            "--id",
            "plain",
            "--issuer",
            "http://example.com",
            "--client-id",
            "x",
        ]),
        2,
        "loopback",
    );
    // An issuer typed with a trailing slash the server does not have is stored as the server
    // names it (the same documents are fetched either way); every later check is exact
    // (SEC-4: the `iss` trailing-slash test above).
    let slash = format!("{}/", f.server.issuer);
    f.s.kh_ok(&[
        "providers",
        "add",
        "--id",
        "slash",
        "--issuer",
        &slash,
        "--client-id",
        "x",
    ]);
    let shown: serde_json::Value =
        serde_json::from_str(&f.s.kh_ok(&["providers", "show", "slash", "--json"])).unwrap();
    assert_eq!(shown["issuer"], f.server.issuer.as_str());
    assert_fails(
        &f.s.kh(&[
            "providers",
            "add",
            "--id",
            "github",
            "--issuer",
            &f.server.issuer,
            "--client-id",
            "x",
        ]),
        2,
        "catalog provider",
    );
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&f.s.kh_ok(&["providers", "list", "--json"])).unwrap();
    let testas = list.iter().find(|p| p["id"] == "testas").unwrap();
    assert_eq!(testas["custom"], true);
    assert_eq!(testas["configured"], true);
    assert!(list.len() >= 31);
}

/// Sends a raw HTTP request to the loopback listener; returns the whole response.
fn raw_http(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn port_of(url: &str) -> u16 {
    url["http://127.0.0.1:".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn loopback_listener_neutralises_bad_requests_and_still_takes_the_real_callback() {
    // SEC-15: POST, Host: evil, other paths, a decoy with a wrong state, then the real one.
    let f = Flow::new();
    let child = f.spawn_loopback(&[("KH_TEST_NO_DELIVER", "1")]);
    let url = f.redirect_url();
    let port = port_of(&url);
    let target = &url[format!("http://127.0.0.1:{port}").len()..];
    let host = format!("127.0.0.1:{port}");
    let post = raw_http(
        port,
        &format!("POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"),
    );
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    let evil = raw_http(
        port,
        &format!("GET {target} HTTP/1.1\r\nHost: evil.example\r\n\r\n"),
    );
    assert!(evil.starts_with("HTTP/1.1 400"), "{evil}");
    let other = raw_http(
        port,
        &format!("GET /next?to=https://evil.example HTTP/1.1\r\nHost: {host}\r\n\r\n"),
    );
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");
    let decoy = raw_http(
        port,
        &format!("GET /callback?state=decoy&code=x HTTP/1.1\r\nHost: {host}\r\n\r\n"),
    );
    assert!(decoy.starts_with("HTTP/1.1 400"), "{decoy}");
    for r in [&post, &evil, &other, &decoy] {
        assert!(r.contains("Referrer-Policy: no-referrer"), "{r}");
        assert!(
            !r.to_lowercase().contains("location:"),
            "never redirects: {r}"
        );
    }
    assert_eq!(f.server.token_total(), 0);
    let real = raw_http(
        port,
        &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
    );
    assert!(real.starts_with("HTTP/1.1 200"), "{real}");
    assert!(wait_child(child, 30).status.success());
    assert_eq!(f.server.token_requests("authorization_code"), 1);
}

#[test]
fn loopback_error_page_escapes_what_the_server_sent() {
    let f = Flow::new();
    let child = f.spawn_connect(
        &["testas", "--redirect", "loopback", "--timeout", "60"],
        &[("KH_TEST_NO_DELIVER", "1")],
    );
    let url = f.redirect_url();
    let port = port_of(&url);
    let state = url
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let iss = url.split("iss=").nth(1).unwrap().split('&').next().unwrap();
    let req = format!(
        "GET /callback?state={state}&iss={iss}&error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    );
    let page = raw_http(port, &req);
    assert!(page.starts_with("HTTP/1.1 400"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
    assert!(!page.contains("<script>"), "{page}");
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("access_denied"));
}

#[test]
fn a_foreign_code_injected_into_a_valid_callback_fails_once_and_stores_nothing() {
    // SEC-3: flow A's code inside flow B's callback is redeemed with B's verifier: refused.
    let f = Flow::new();
    let (child_a, url_a) = f.deep_link_until_redirect(&[]);
    let code_a = url_a
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let (child_b, url_b) = f.deep_link_until_redirect(&[]);
    let injected = with_param(&url_b, "code", Some(&code_a));
    assert_fails(&f.handle_url(&injected), 1, "invalid_grant");
    assert_eq!(
        f.server.token_requests("authorization_code"),
        1,
        "one attempt, no retry"
    );
    assert!(f.connections().is_empty());
    wait_child(child_b, 30);
    drop(child_a);
}
