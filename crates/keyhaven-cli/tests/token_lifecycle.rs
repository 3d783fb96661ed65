//! The token lifecycle against the real server with short-lived access tokens and strict
//! refresh-token rotation (reuse detection on): refresh exactly once across processes, durable
//! rotation, invalid_grant, faults, revocation, audit. Rule numbers (SEC-n) are those of docs/security.md.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::assert_fails;
use crate::support::oauth::{AuthServer, Flow, wait_child};

/// Access tokens of 3 s, short enough to pass in real time where a test needs the server to
/// see them expire.
fn flow() -> Flow {
    Flow::with_server(AuthServer::start_with(&[("KH_AS_ACCESS_TTL", "3")]))
}

/// Past the 3-second expiry, by moving Keyhaven's clock rather than sleeping.
fn expire(f: &Flow) {
    f.s.advance(4);
}

#[test]
fn ten_concurrent_token_processes_refresh_exactly_once() {
    // SEC-27: 10 processes right after expiry: one refresh grant, no reuse, one token for all.
    let f = flow();
    let id = f.connect("alice");
    let original = f.access_token(&id);
    expire(&f);
    let before = f.server.token_requests("refresh_token");
    let procs: Vec<_> = (0..10)
        .map(|_| {
            f.s.command(crate::support::keyhaven_bin())
                .args(["token", "testas"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let token = crate::support::oauth::same_token_from_all(procs);
    assert_ne!(token, original, "a new token");
    let stats = f.server.stats();
    assert_eq!(
        f.server.token_requests("refresh_token") - before,
        1,
        "exactly one refresh: {stats}"
    );
    assert_eq!(stats["reuse_detected"], 0, "{stats}");
    assert_eq!(stats["invalid_grant"], 0, "{stats}");
    let (status, me) = f.server.userinfo(&token);
    assert_eq!(status, 200, "the refreshed token works");
    assert_eq!(me["sub"], "alice");
}

#[test]
fn a_valid_token_is_handed_out_without_a_request_and_audited() {
    let f = flow();
    let id = f.connect("alice");
    let before = f.server.token_total();
    let t = f.s.kh_ok(&["token", &id, "--margin", "0"]);
    assert_eq!(t.trim(), f.access_token(&id));
    assert_eq!(t.lines().count(), 1, "the token alone on stdout");
    assert_eq!(
        f.server.token_total(),
        before,
        "no network for a valid token"
    );
    let audit = f.s.kh_ok(&["audit", "--json", "--connection", "testas"]);
    let events: Vec<serde_json::Value> = serde_json::from_str(&audit).unwrap();
    let actions: Vec<_> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"connection.created"), "{actions:?}");
    assert!(actions.contains(&"token.handed_out"), "{actions:?}");
    assert!(actions.contains(&"connection.revealed"), "{actions:?}");
    assert!(events.iter().all(|e| e["actor"] == "cli"));
    assert!(!audit.contains(t.trim()), "never a token in the audit log");
}

#[test]
fn refresh_rotates_durably_and_keeps_the_refresh_token_when_none_comes_back() {
    // SEC-28, SEC-29.
    let f = flow();
    let id = f.connect("alice");
    let rt1 = f.field(&id, "refresh_token").unwrap();
    f.s.kh_ok(&["refresh", &id]);
    let rt2 = f.field(&id, "refresh_token").unwrap();
    assert_ne!(rt1, rt2, "rotated refresh token stored");
    // A second refresh uses the rotated one (the old one would be reuse: the grant would die).
    f.s.kh_ok(&["refresh", &id]);
    let rt3 = f.field(&id, "refresh_token").unwrap();
    assert_ne!(rt2, rt3);
    // A response without refresh_token, with a narrower scope: keep the old RT, record the scope.
    f.server
        .fault_json(serde_json::json!({"endpoint": "token", "mode": "patch",
        "patch": {"refresh_token": null, "scope": "openid"}}));
    f.s.kh_ok(&["refresh", &id]);
    assert_eq!(
        f.field(&id, "refresh_token").unwrap(),
        rt3,
        "old refresh token kept"
    );
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&f.s.kh_ok(&["list", "--json"])).unwrap();
    assert_eq!(list[0]["scopes"], serde_json::json!(["openid"]));
    assert_eq!(f.server.stats()["reuse_detected"], 0);
}

#[test]
fn invalid_grant_means_reconnect_once_with_no_retry_storm() {
    // SEC-29, SEC-34.
    let f = flow();
    let id = f.connect("alice");
    let at = f.access_token(&id);
    f.server.fault("token", "oauth_error:invalid_grant");
    let before = f.server.token_total();
    let err = assert_fails(&f.s.kh(&["refresh", &id]), 1, "sign in again");
    assert!(err.contains("keyhaven connect testas"), "{err}");
    assert_eq!(f.server.token_total() - before, 1, "one request, no retry");
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&f.s.kh_ok(&["list", "--json"])).unwrap();
    assert_eq!(list[0]["status"], "needs_reauth");
    assert_eq!(f.access_token(&id), at, "old tokens kept for viewing");
    // Further requests make no network call until the person reconnects.
    assert_fails(&f.s.kh(&["token", &id]), 1, "sign in again");
    assert_fails(&f.s.kh(&["refresh", &id]), 1, "sign in again");
    assert_eq!(f.server.token_total() - before, 1);
    let audit = f.s.kh_ok(&["audit", "--connection", &id]);
    assert!(
        audit.contains("token.refresh_failed") && audit.contains("invalid_grant"),
        "{audit}"
    );
    // Reconnecting the same account brings it back.
    assert_eq!(f.connect("alice"), id);
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&f.s.kh_ok(&["list", "--json"])).unwrap();
    assert_ne!(
        list[0]["status"], "needs_reauth",
        "usable again after reconnecting"
    );
}

#[test]
fn token_endpoint_faults_fail_readably_and_leave_tokens_unchanged() {
    // A failing token endpoint must never cost the stored tokens; SEC-33, SEC-35, SEC-36.
    let f = flow();
    let id = f.connect("alice");
    for (mode, want) in [
        ("status_500", "HTTP 500"),
        ("malformed_json", "not a JSON object"),
        ("html_200", "HTML page"),
        ("hang", "timeout"),
    ] {
        expire(&f);
        let show_before = f.s.kh_ok(&["show", &id, "--reveal", "--json"]);
        f.server.fault("token", mode);
        let t = Instant::now();
        let out = f.s.kh(&["token", &id]);
        assert!(
            !out.status.success(),
            "{mode}: {out:?} after {:?}, stats {}",
            t.elapsed(),
            f.server.stats()
        );
        assert_fails(&out, 1, want);
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{mode}: bounded time, took {:?}",
            t.elapsed()
        );
        let show_now = f.s.kh_ok(&["show", &id, "--reveal", "--json"]);
        // The stored values and their update times; `age_secs` is derived from the clock.
        let fields = |s: &str| {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            v["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["name"].clone(),
                        f["value"].clone(),
                        f["updated_at"].clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(&show_now),
            fields(&show_before),
            "{mode}: stored tokens unchanged"
        );
        // The server recovers (one fault each): the next call succeeds.
        let token = f.s.kh_ok(&["token", &id]);
        assert_eq!(f.server.userinfo(token.trim()).0, 200, "{mode}");
    }
}

#[test]
fn a_failing_token_endpoint_is_asked_a_bounded_number_of_times() {
    // SEC-35: 500 for good; a script asking every 100 ms for 6 s makes a handful of requests,
    // not 60; the tokens stay viewable; `refresh` still tries at once; Retry-After is honoured.
    let f = flow();
    let id = f.connect("alice");
    expire(&f);
    f.server
        .fault_json(serde_json::json!({"endpoint": "token", "mode": "status_500", "count": 1000}));
    let before = f.server.token_total();
    let start = Instant::now();
    let mut backing_off = 0;
    while start.elapsed() < Duration::from_secs(6) {
        let out = f.s.kh(&["token", &id]);
        assert!(!out.status.success());
        if String::from_utf8_lossy(&out.stderr).contains("waits") {
            backing_off += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let requests = f.server.token_total() - before;
    assert!(
        (2..=5).contains(&requests),
        "exponential backoff: {requests} requests in 6 s"
    );
    assert!(backing_off > 10, "refused without a request: {backing_off}");
    assert!(
        f.s.kh(&["show", &id, "--json"]).status.success(),
        "still viewable"
    );
    let list: serde_json::Value = serde_json::from_str(&f.s.kh_ok(&["list", "--json"])).unwrap();
    assert_ne!(
        list[0]["status"], "needs_reauth",
        "never logged out for this"
    );
    // An explicit refresh asks now.
    let n = f.server.token_total();
    assert!(!f.s.kh(&["refresh", &id]).status.success());
    assert_eq!(f.server.token_total(), n + 1);
    // Retry-After: 2 s from the server is waited out exactly, then the recovered server answers.
    f.server.reset();
    f.server.fault_json(
        serde_json::json!({"endpoint": "token", "mode": "status_503", "retry_after": 2}),
    );
    assert!(!f.s.kh(&["refresh", &id]).status.success());
    assert_fails(&f.s.kh(&["token", &id]), 1, "waits");
    f.s.advance(3); // past the 2 s Retry-After
    let token = f.s.kh_ok(&["token", &id]);
    assert_eq!(f.server.userinfo(token.trim()).0, 200);
}

#[test]
fn a_revocation_answered_503_is_kept_and_retried_until_confirmed() {
    // SEC-31: 503 or a timeout means the token may be live: tombstone, retry, confirm.
    let f = flow();
    let id = f.connect("alice");
    let at = f.access_token(&id);
    let rt = f.field(&id, "refresh_token").unwrap();
    f.server.fault_json(
        serde_json::json!({"endpoint": "revocation", "mode": "status_503", "count": 2}),
    );
    let out = f.s.kh(&["disconnect", &id]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("keeps retrying the revocation of refresh_token, access_token"),
        "{err}"
    );
    assert!(
        f.connections().is_empty(),
        "deleted locally whatever happened"
    );
    assert!(
        f.server.introspect(&rt) && f.server.introspect(&at),
        "still live"
    );
    let pending: serde_json::Value =
        serde_json::from_str(&f.s.kh_ok(&["revocations", "--json"])).unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 2, "{pending}");
    let shown = serde_json::to_string(&pending).unwrap();
    assert!(
        !shown.contains(&rt) && !shown.contains(&at),
        "no secret listed"
    );
    let report: serde_json::Value =
        serde_json::from_str(&f.s.kh_ok(&["revocations", "--retry", "--json"])).unwrap();
    assert_eq!(report["revoked"].as_array().unwrap().len(), 2, "{report}");
    assert!(
        !f.server.introspect(&rt) && !f.server.introspect(&at),
        "dead now"
    );
    assert_eq!(f.s.kh_ok(&["revocations", "--json"]).trim(), "[]");
}

#[test]
fn a_disconnect_during_a_slow_refresh_revokes_the_tokens_that_refresh_brings() {
    // SEC-31: the refresh answer is delayed 5 s; disconnect waits for it, then revokes the new
    // pair, so nothing the late refresh received stays live.
    // Access tokens of 30 s: the answer is held 5 s, so a 3 s token would arrive expired.
    let f = Flow::with_server(AuthServer::start_with(&[("KH_AS_ACCESS_TTL", "30")]));
    let id = f.connect("alice");
    // `refresh` forces one; no need to wait for expiry.
    f.server
        .fault_json(serde_json::json!({"endpoint": "token", "mode": "delay_ms:5000"}));
    // Revocation is slowed too, so the test can read the new pair while disconnect works.
    f.server.fault_json(
        serde_json::json!({"endpoint": "revocation", "mode": "delay_before_ms:6000", "count": 2}),
    );
    let refresh =
        f.s.command(crate::support::keyhaven_bin())
            .args(["refresh", &id])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let started = Instant::now();
    let disconnect =
        f.s.command(crate::support::keyhaven_bin())
            .args(["disconnect", &id])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    let out = wait_child(refresh, 60);
    assert!(out.status.success(), "the refresh committed: {out:?}");
    // One read of the new pair, while disconnect's revocations wait 6 s at the server (revoking
    // the refresh token ends the whole grant, access token included).
    let show: serde_json::Value =
        serde_json::from_str(&f.s.kh_ok(&["show", &id, "--reveal", "--json"])).unwrap();
    let field = |name: &str| {
        show["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .and_then(|x| x["value"].as_str())
            .unwrap()
            .to_string()
    };
    let (new_at, new_rt) = (field("access_token"), field("refresh_token"));
    assert_eq!(
        f.server.userinfo(&new_at).0,
        200,
        "the new access token works"
    );
    assert!(
        f.server.introspect(&new_rt),
        "the new refresh token is live"
    );
    let out = wait_child(disconnect, 60);
    assert!(out.status.success(), "{out:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "disconnect waited for the refresh"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Revoked at testas: refresh_token, access_token"),
        "{err}"
    );
    assert!(
        !f.server.introspect(&new_rt),
        "the late refresh token is revoked"
    );
    assert_eq!(
        f.server.userinfo(&new_at).0,
        401,
        "the late access token is revoked"
    );
    assert!(f.connections().is_empty());
}

#[test]
fn disconnect_revokes_refresh_then_access_token_and_deletes() {
    // SEC-31.
    let f = flow();
    let id = f.connect("alice");
    let at = f.access_token(&id);
    assert_eq!(f.server.userinfo(&at).0, 200);
    let out = f.s.kh(&["disconnect", "testas"]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Revoked at testas: refresh_token, access_token"),
        "{err}"
    );
    assert_eq!(f.server.stats()["revocation"], 2);
    assert_eq!(
        f.server.userinfo(&at).0,
        401,
        "the access token is dead at the server"
    );
    assert!(f.connections().is_empty());
    let audit = f.s.kh_ok(&["audit", "--connection", &id]);
    assert!(
        audit.contains("token.revoked") && audit.contains("connection.deleted"),
        "{audit}"
    );
}

#[test]
fn disconnect_deletes_locally_even_when_revocation_fails_and_says_so() {
    let f = flow();
    f.connect("alice");
    f.server.fault_json(
        serde_json::json!({"endpoint": "revocation", "mode": "status_503", "count": 2}),
    );
    let out = f.s.kh(&["disconnect", "testas"]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NOT revoked at testas: refresh_token"),
        "{err}"
    );
    assert!(err.contains("NOT revoked at testas: access_token"), "{err}");
    assert!(err.contains("by hand"), "{err}");
    assert!(f.connections().is_empty());
}

#[test]
fn disconnect_keep_remote_skips_revocation() {
    let f = flow();
    let id = f.connect("alice");
    let at = f.access_token(&id);
    f.s.kh_ok(&["disconnect", &id, "--keep-remote"]);
    assert_eq!(f.server.stats()["revocation"], 0);
    assert_eq!(
        f.server.userinfo(&at).0,
        200,
        "still valid remotely, as asked"
    );
    assert!(f.connections().is_empty());
}

#[test]
fn list_shows_expiry_status_offline() {
    let f = flow();
    let id = f.connect("alice");
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&f.s.kh_ok(&["list", "--json"])).unwrap();
    assert_eq!(list[0]["id"], id.as_str());
    // 3-second tokens are inside the 5-minute "expiring" window from the start.
    assert_eq!(list[0]["status"], "expiring");
    assert!(list[0]["expires_at"].as_str().unwrap().ends_with('Z'));
    drop(f.server);
    // With the server gone, list still works (no network).
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&f.s.kh_ok(&["list", "--json"])).unwrap();
    assert_eq!(list.len(), 1);
}

#[test]
fn show_inspects_tokens_offline_with_decoded_unverified_claims() {
    let f = flow();
    let id = f.connect("alice");
    drop(f.server); // the network is gone: everything below reads the vault only
    let v: serde_json::Value = serde_json::from_str(&f.s.kh_ok(&["show", &id, "--json"])).unwrap();
    assert_eq!(v["provider"], "testas");
    assert_eq!(v["has_refresh_token"], true);
    assert!(
        v["token_type"].is_string(),
        "token type stored at creation: {v}"
    );
    assert!(
        v["extra"].is_object(),
        "extra response fields stored at creation: {v}"
    );
    assert!(
        v["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "openid")
    );
    assert!(
        v["scopes_requested"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "offline_access")
    );
    let fields = v["fields"].as_array().unwrap();
    let field = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap().clone();
    let id_token = field("id_token");
    assert!(id_token["value"].is_null(), "masked without --reveal");
    assert_eq!(id_token["jwt"]["unverified"], true);
    assert_eq!(id_token["jwt"]["claims"]["sub"], "alice");
    assert!(id_token["jwt"]["header"]["alg"].is_string());
    assert!(
        id_token["jwt"]["times"]["exp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(field("refresh_token")["age_secs"].as_i64().unwrap() >= 0);
    let text = f.s.kh_ok(&["show", &id]);
    assert!(text.contains("NOT verified"), "{text}");
}

/// Runs `connect testas --device --json`, drives the verification URL it tells the person (on
/// stderr: with --json, stdout carries the JSON alone) with the scripted browser, and returns the
/// finished `connect` output.
fn device_connect(f: &Flow, browser_env: &[(&str, &str)]) -> std::process::Output {
    use std::io::BufRead;
    let mut child = f.spawn_connect(&["testas", "--device", "--json"], &[]);
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut reader = std::io::BufReader::new(stderr);
    let mut printed = String::new();
    let mut complete = None;
    while complete.is_none() {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "connect ended early: {printed}"
        );
        printed.push_str(&line);
        if let Some(rest) = line.strip_prefix("(or open ") {
            complete = Some(rest.trim_end().trim_end_matches(" directly)").to_string());
        }
    }
    assert!(printed.contains("and enter the code: "), "{printed}");
    let url = complete.unwrap();
    assert!(url.starts_with(&f.server.issuer), "{url}");
    let browser = crate::support::oauth::repo_root().join("tests/oauth-server/browser.mjs");
    let mut b = std::process::Command::new("node");
    b.arg(browser).arg(&url);
    for (k, v) in browser_env {
        b.env(k, v);
    }
    let _ = crate::support::output_within(&mut b, 60);
    // stdout (the JSON) and the rest of stderr are read on threads, so a stuck `connect` is
    // killed by wait_child's deadline instead of blocking a read.
    let json = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(stdout), &mut all);
        all
    });
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
        rest
    });
    let mut out = wait_child(child, 60);
    out.stdout = json.join().unwrap().into_bytes();
    out.stderr = format!("{printed}{}", rest.join().unwrap()).into_bytes();
    out
}

/// A server whose device codes live 30 s: a stuck test ends quickly.
fn device_server() -> Flow {
    Flow::with_server(AuthServer::start_with(&[("KH_AS_DEVICE_CODE_TTL", "30")]))
}

#[test]
fn device_flow_connects_after_approval_on_another_device() {
    let f = device_server();
    let out = device_connect(&f, &[]);
    assert!(out.status.success(), "{out:?}");
    let conn: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(conn["account"], "alice");
    assert!(
        f.server
            .token_requests("urn:ietf:params:oauth:grant-type:device_code")
            >= 1
    );
    let token = f.access_token(conn["id"].as_str().unwrap());
    assert_eq!(f.server.userinfo(&token).0, 200);
}

#[test]
fn device_flow_denied_stops_polling_with_a_clear_message() {
    let f = device_server();
    let out = device_connect(&f, &[("KH_TEST_DENY", "1")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("access_denied"),
        "{out:?}"
    );
    assert!(f.connections().is_empty());
}

#[test]
fn device_flow_refuses_a_non_web_verification_uri() {
    // SEC-8: a file:/// URI is never shown as a place to go.
    let f = device_server();
    f.server.fault_json(
        serde_json::json!({"endpoint": "device_authorization", "mode": "patch",
        "patch": {"verification_uri": "file:///etc/passwd", "verification_uri_complete": null}}),
    );
    let out = f.s.kh(&["connect", "testas", "--device"]);
    let err = assert_fails(&out, 1, "refusing the verification URI");
    assert!(
        !err.contains("/etc/passwd") || err.contains("unsupported scheme"),
        "{err}"
    );
}

#[test]
fn refresh_killed_at_random_moments_leaves_a_usable_connection() {
    // A process killed at any moment of a refresh must leave a usable vault; SEC-28, SEC-38.
    // The one window no client can close: the server rotated (and, with reuse detection on,
    // will revoke the grant if the old refresh token comes back) but the process died before
    // committing. Then the connection must say `needs_reauth` cleanly and the server must have
    // seen exactly that reuse; every other kill must leave a working connection.
    let f = flow();
    let mut id = f.connect("alice");
    // Every token answer is held 200 ms after the server rotated, so kills land before the
    // request, inside that window, and after the commit.
    f.server.fault_json(
        serde_json::json!({"endpoint": "token", "mode": "delay_ms:200", "count": 10000}),
    );
    let mut outcomes = std::collections::BTreeMap::<&str, u32>::new();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    for round in 0..15 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis((seed >> 33) % 450);
        let reuse_before = f.server.stats()["reuse_detected"].as_i64().unwrap();
        let mut child =
            f.s.command(crate::support::keyhaven_bin())
                .args(["refresh", &id])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let finished = child.wait().unwrap().success();
        // The vault opens, is intact, and the connection is in a known state.
        let status = f.s.status_json();
        assert_eq!(status["integrity"], "ok", "round {round}");
        let show: serde_json::Value =
            serde_json::from_str(&f.s.kh_ok(&["show", &id, "--json"])).unwrap();
        let has = |name: &str| {
            show["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == name)
        };
        assert!(
            has("access_token") && has("refresh_token"),
            "round {round}: a complete pair"
        );
        let out = f.s.kh(&["token", &id]);
        let reused = f.server.stats()["reuse_detected"].as_i64().unwrap() > reuse_before;
        if out.status.success() {
            let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
            assert_eq!(f.server.userinfo(&token).0, 200, "round {round}");
            // A later refresh works too (the stored refresh token is the live one).
            let again = f.s.kh(&["refresh", &id]);
            if again.status.success() {
                *outcomes
                    .entry(if finished {
                        "completed"
                    } else {
                        "killed, usable"
                    })
                    .or_default() += 1;
                continue;
            }
        }
        // Only the unavoidable window may break the connection, and then cleanly.
        let after = f.s.kh(&["refresh", &id]);
        assert!(
            reused || f.server.stats()["reuse_detected"].as_i64().unwrap() > reuse_before,
            "round {round}: broken without the server seeing a reused refresh token: {:?}",
            String::from_utf8_lossy(&after.stderr)
        );
        assert_fails(&after, 1, "sign in again");
        *outcomes
            .entry("killed between rotation and commit")
            .or_default() += 1;
        id = f.connect("alice");
    }
    eprintln!("outcomes over 15 kills: {outcomes:?}");
}

#[test]
fn refresh_due_refreshes_what_is_due_and_nothing_else() {
    let f = flow();
    let id = f.connect("alice");
    expire(&f);
    let before = f.server.token_requests("refresh_token");
    let rows: serde_json::Value =
        serde_json::from_str(&f.s.kh_ok(&["refresh", "--due", "--json"])).unwrap();
    assert_eq!(rows[0]["id"], id.as_str(), "{rows}");
    assert_eq!(rows[0]["reason"], "expiring");
    assert_eq!(rows[0]["ok"], true);
    assert_eq!(f.server.token_requests("refresh_token"), before + 1);
    // Just refreshed: nothing is due any more.
    assert_eq!(f.s.kh_ok(&["refresh", "--due", "--json"]).trim(), "[]");
    assert_eq!(f.server.token_requests("refresh_token"), before + 1);
    assert_eq!(f.s.kh(&["refresh"]).status.code(), Some(2), "CONN or --due");
}
