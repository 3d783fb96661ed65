//! The CLI a demanding user expects, through the real binary: a hand-out never changes what it
//! does not hand out, a closed pipe ends a command quietly, `exec` gives a tool exactly the
//! connection's variables, statuses and margins mean what they say, several accounts of one
//! provider, and the conventions of `gh`, `pass` and `aws-vault`.

use std::process::Stdio;

use crate::support::cloud::Cloud;
use crate::support::oauth::{AuthServer, Flow, wait_child};
use crate::support::{Session, assert_fails, keyhaven_bin};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A Hetzner token stored without a live check (the API is not needed for these tests).
fn hetzner(s: &Session, account: &str, token: &str) -> String {
    let out = s.kh_input(
        &[
            "credentials",
            "add",
            "hetzner",
            "--no-verify",
            "--account",
            account,
            "--json",
        ],
        &format!("{token}\n"),
    );
    assert!(out.status.success(), "{out:?}");
    json(&String::from_utf8_lossy(&out.stdout))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn vault_with_passphrase() -> (Session, std::path::PathBuf) {
    let s = Session::bare();
    let pass = s.tmp.path().join("pass");
    std::fs::write(&pass, "a long enough passphrase\n").unwrap();
    s.kh_ok(&["init", "--passphrase-file", pass.to_str().unwrap()]);
    (s, pass)
}

/// Bug: `token`/`refresh` on an API key marked it expired. Now `token` hands out the key (the
/// one its tools use), `refresh` says there is nothing to refresh, and nothing else changes.
#[test]
fn an_api_key_hand_out_prints_the_key_and_changes_nothing() {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    let key = "h".repeat(64);
    let id = hetzner(&s, "web", &key);
    assert_eq!(s.kh_ok(&["token", "hetzner:web"]).trim(), key);
    let list = json(&s.kh_ok(&["list", "--json"]));
    assert_eq!(list[0]["status"], "connected");
    let audit = json(&s.kh_ok(&["audit", "--json", "--connection", &id]));
    assert_eq!(audit[0]["action"], "token.handed_out", "newest first");
    assert_eq!(audit[0]["detail"], "token");
    assert_eq!(audit[0]["subject"], "hetzner:web");

    let err = assert_fails(&s.kh(&["refresh", "hetzner:web"]), 2, "nothing to refresh");
    assert!(err.contains("API key"), "{err}");
    assert_eq!(
        json(&s.kh_ok(&["list", "--json"]))[0]["status"],
        "connected"
    );
    assert_eq!(s.kh_ok(&["token", "hetzner"]).trim(), key, "still usable");

    // Several secret fields: say which to ask for; --field picks one.
    let out = s.kh_input(
        &[
            "credentials",
            "add",
            "ovhcloud",
            "--no-verify",
            "--field",
            "application_key=appkey0123456789",
        ],
        "secretsecretsecretsecretsecret12\nconsumerconsumerconsumerconsum12\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_fails(&s.kh(&["token", "ovhcloud"]), 2, "--field NAME");
    assert_eq!(
        s.kh_ok(&["token", "ovhcloud", "--field", "consumer_key"])
            .trim(),
        "consumerconsumerconsumerconsum12"
    );
    assert_fails(
        &s.kh(&["token", "ovhcloud", "--field", "application_key"]),
        2,
        "no secret field",
    );

    // Disconnecting a key says it still works at the provider, and where to revoke it.
    let out = s.kh(&["disconnect", "hetzner:web"]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("stay valid at hetzner"), "{said}");
    assert!(said.contains("https://console.hetzner.cloud/"), "{said}");
}

/// Runs `keyhaven ARGS` with stdout a pipe whose reader is already gone.
fn with_closed_stdout(s: &Session, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = s
        .command(keyhaven_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_child(child, 30)
}

/// Bug: every text command panicked in a closed pipe (`keyhaven list | head -1`), and `--json`,
/// `env`, `token` said "cannot write output: Broken pipe". Now each ends quietly, status 0.
#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    hetzner(&s, "web", &"h".repeat(64));
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["audit"],
        &["audit", "--json"],
        &["vault", "status"],
        &["vault", "status", "--json"],
        &["show", "hetzner"],
        &["show", "hetzner", "--json"],
        &["providers", "list"],
        &["providers", "list", "--json"],
        &["providers", "show", "github"],
        &["credentials", "fields", "aws"],
        &["env", "hetzner"],
        &["env", "hetzner", "--format", "json"],
        &["token", "hetzner"],
        &["status"],
        &["--help"],
    ] {
        let out = with_closed_stdout(&s, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} said: {err}");
    }
}

/// Bug: `exec --with aws` passed a stale AWS_SESSION_TOKEN and AWS_PROFILE through next to the
/// new keys, and exported AWS_REGION=us-east-1 nobody chose. aws-vault clears the family.
#[test]
fn exec_clears_stale_identity_variables_and_invents_nothing() {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    let out = s.kh_input(
        &[
            "credentials",
            "add",
            "aws",
            "--no-verify",
            "--field",
            "access_key_id=AKIAIOSFODNN7EXAMPLE",
        ],
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\n",
    );
    assert!(out.status.success(), "{out:?}");
    let run = |extra: &[(&str, &str)]| -> String {
        let mut c = s.command(keyhaven_bin());
        c.args(["exec", "--with", "aws", "--", "env"]);
        for (k, v) in extra {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let env = run(&[
        ("AWS_SESSION_TOKEN", "stale"),
        ("AWS_PROFILE", "old"),
        ("AWS_SECURITY_TOKEN", "stale"),
        ("AWS_REGION", "eu-west-3"),
    ]);
    let has = |line: &str| env.lines().any(|l| l == line);
    let set = |name: &str| env.lines().any(|l| l.starts_with(&format!("{name}=")));
    assert!(has("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"), "{env}");
    assert!(
        !set("AWS_SESSION_TOKEN"),
        "a stale session token mixes with the keys"
    );
    assert!(!set("AWS_PROFILE") && !set("AWS_SECURITY_TOKEN"), "{env}");
    assert!(
        has("AWS_REGION=eu-west-3"),
        "the caller's own region is kept: {env}"
    );
    assert!(!set("AWS_DEFAULT_REGION"), "no invented us-east-1: {env}");
    assert!(has("KEYHAVEN_EXEC=aws:AKIAIOSFODNN7EXAMPLE"), "{env}");

    // A region given by the person is theirs to export; a nested exec is noted.
    s.kh_ok(&["disconnect", "aws"]);
    let out = s.kh_input(
        &[
            "credentials",
            "add",
            "aws",
            "--no-verify",
            "--var",
            "region=eu-central-1",
            "--field",
            "access_key_id=AKIAIOSFODNN7EXAMPLE",
        ],
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\n",
    );
    assert!(out.status.success(), "{out:?}");
    let mut c = s.command(keyhaven_bin());
    let out = c
        .args(["exec", "--with", "aws", "--", "env"])
        .env("KEYHAVEN_EXEC", "outer:x")
        .output()
        .unwrap();
    let env = String::from_utf8_lossy(&out.stdout);
    assert!(env.lines().any(|l| l == "AWS_REGION=eu-central-1"), "{env}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside another `keyhaven exec`"));
}

/// Bug: once the access token's expiry passed, `list` said `expiring`. And `token --margin` was
/// silently capped at half the token's lifetime.
#[test]
fn expired_means_expired_and_margin_means_what_it_says() {
    let f = Flow::with_server(AuthServer::start_with(&[("KH_AS_ACCESS_TTL", "60")]));
    let id = f.connect("alice");
    let before = f.server.token_requests("refresh_token");
    // 60-second tokens: a 30-minute margin asks for a fresh one now (it was capped at 30 s).
    f.s.kh_ok(&["token", &id, "--margin", "1800"]);
    assert_eq!(f.server.token_requests("refresh_token"), before + 1);
    f.s.kh_ok(&["token", &id]);
    assert_eq!(
        f.server.token_requests("refresh_token"),
        before + 1,
        "the default margin is still capped"
    );
    let t = json(&f.s.kh_ok(&["token", &id, "--json"]));
    assert!(t["token"].as_str().unwrap().len() > 10);
    assert!(t["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(t["scopes"].is_array());
    let r = json(&f.s.kh_ok(&["refresh", &id, "--json"]));
    assert_eq!(r["id"], id.as_str());

    let g = Flow::with_server(AuthServer::start_with(&[("KH_AS_ACCESS_TTL", "2")]));
    let id = g.connect("bob");
    g.s.advance(3); // past the 2 s expiry
    let list = g.connections();
    assert_eq!(list[0]["status"], "expired", "{list:?}");
    assert_eq!(list[0]["renewable"], true);
    let text = g.s.kh_ok(&["list"]);
    assert!(text.contains("expired (renews on use)"), "{text}");
    let shown = json(&g.s.kh_ok(&["show", &id, "--json"]));
    assert_eq!(shown["status"], "expired");
}

/// Bug: `--device --timeout 60` waited the whole code lifetime; with --json the instructions went
/// to stdout. Now the wait ends at the timeout and stdout stays clean.
#[test]
fn the_device_flow_honours_timeout_and_keeps_json_clean() {
    let f = Flow::with_server(AuthServer::start_with(&[("KH_AS_DEVICE_CODE_TTL", "600")]));
    let child = f.spawn_connect(&["testas", "--device", "--timeout", "3", "--json"], &[]);
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stdout.is_empty(),
        "stdout is for the JSON only: {out:?}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("and enter the code"), "{err}");
    assert!(
        err.contains("gave up waiting for the testas sign-in"),
        "{err}"
    );
}

/// Two accounts of one provider: a default, a name of one's own, errors listing the candidates
/// as provider:account, and `status` saying what needs you.
#[test]
fn several_accounts_of_one_provider() {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    hetzner(&s, "web", &"a".repeat(64));
    // One connection: PROVIDER alone names it.
    assert!(
        s.kh_ok(&["env", "hetzner", "--format", "json"])
            .contains("HCLOUD_TOKEN")
    );
    hetzner(&s, "api", &"b".repeat(64));
    let err = assert_fails(&s.kh(&["env", "hetzner"]), 2, "has 2 connections");
    assert!(
        err.contains("hetzner:web") && err.contains("hetzner:api"),
        "{err}"
    );
    assert!(err.contains("keyhaven default"), "{err}");
    s.kh_ok(&["default", "hetzner:web"]);
    let env = json(&s.kh_ok(&["env", "hetzner", "--format", "json"]));
    assert_eq!(env["HCLOUD_TOKEN"], "a".repeat(64), "the default");
    let list = s.kh_ok(&["list"]);
    assert!(list.starts_with("ID "), "a header: {list}");
    assert!(list.contains(" *"), "the default is marked: {list}");

    s.kh_ok(&["rename", "hetzner:api", "staging"]);
    assert_eq!(
        s.kh_ok(&["token", "hetzner:staging"]).trim(),
        "b".repeat(64)
    );
    assert_fails(
        &s.kh(&["rename", "hetzner:web", "staging"]),
        2,
        "already names",
    );
    assert_fails(&s.kh(&["rename", "hetzner:web", "a:b"]), 2, "no ':'");
    let err = assert_fails(&s.kh(&["show", "hetzner:stagin"]), 2, "no connection");
    assert!(err.contains("did you mean hetzner:staging?"), "{err}");
    let err = assert_fails(
        &s.kh(&["credentials", "add", "hetzer"]),
        2,
        "unknown provider",
    );
    assert!(err.contains("did you mean hetzner?"), "{err}");
    let err = assert_fails(
        &s.kh_input(&["credentials", "add", "aws", "--var", "regoin=x"], ""),
        2,
        "did you mean region?",
    );
    assert!(err.contains("regoin"), "{err}");
    // Provider ids in any case.
    assert!(s.kh(&["providers", "show", "GitHub"]).status.success());

    // status: fine now (exit 0).
    let out = s.kh(&["status"]);
    assert!(out.status.success(), "{out:?}");
    let o = json(&s.kh_ok(&["status", "--json"]));
    assert_eq!(o["attention"], 0);
    assert_eq!(o["connections"].as_array().unwrap().len(), 2);
}

/// `status` exits 1 and names the remedy when a connection needs a sign-in; providers can be
/// shown and removed (not while in use, unless --force).
#[test]
fn status_says_what_needs_you_and_providers_show_and_remove() {
    let f = Flow::new();
    let id = f.connect("alice");
    f.server.fault("token", "oauth_error:invalid_grant");
    assert_fails(&f.s.kh(&["refresh", &id]), 1, "sign in again");
    let out = f.s.kh(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("! testas:alice"), "{text}");
    assert!(text.contains("keyhaven connect testas"), "{text}");
    let o = json(&String::from_utf8_lossy(
        &f.s.kh(&["status", "--json"]).stdout,
    ));
    assert_eq!(o["attention"], 1);
    assert_eq!(o["connections"][0]["health"], "attention");

    let shown = json(&f.s.kh_ok(&["providers", "show", "testas", "--json"]));
    assert_eq!(shown["issuer"], f.server.issuer.as_str());
    assert_eq!(
        shown["redirect_uris"]["deep-link"],
        "dev.keyhaven:/oauth/callback/testas"
    );
    assert_eq!(shown["client_id"], "keyhaven-native");
    assert_fails(
        &f.s.kh(&["providers", "remove", "testas"]),
        2,
        "1 connection",
    );
    assert!(f.connections().len() == 1);
    let out = f.s.kh(&["providers", "remove", "testas", "--force"]);
    assert!(out.status.success(), "{out:?}");
    assert_fails(
        &f.s.kh(&["providers", "show", "testas"]),
        2,
        "unknown provider",
    );
    assert_fails(
        &f.s.kh(&["providers", "remove", "github"]),
        2,
        "nothing to remove",
    );
}

/// `credentials update` rotates a key, checked live, keeping the connection and its history; a
/// rejected key changes nothing.
#[test]
fn credentials_update_rotates_a_verified_key() {
    let c = Cloud::new();
    let good = c.fake.acct("hetzner", "valid", "token");
    let out = c.kh_input(
        &[
            "credentials",
            "add",
            "hetzner",
            "--account",
            "web",
            "--json",
        ],
        &format!("{good}\n"),
    );
    assert!(out.status.success(), "{out:?}");
    let id = json(&String::from_utf8_lossy(&out.stdout))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = c.kh_input(
        &["credentials", "update", "hetzner"],
        &format!("{}\n", "z".repeat(64)),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(c.s.kh_ok(&["token", "hetzner"]).trim(), good, "unchanged");
    let other = c.fake.acct("hetzner", "read_only", "token");
    let out = c.kh_input(
        &["credentials", "update", "hetzner:web"],
        &format!("{other}\n"),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(c.s.kh_ok(&["token", "hetzner"]).trim(), other);
    let list = json(&c.s.kh_ok(&["list", "--json"]));
    assert_eq!(list[0]["id"], id.as_str(), "the same connection");
    let audit = c.s.kh_ok(&["audit", "--json", "--connection", &id]);
    assert!(audit.contains("credentials.rotated"), "{audit}");
}

/// The catalog as scripts read it: its size, categories from one list, aliases that lead to
/// the entry, and a misspelt category refused with the closest one (exit 2).
#[test]
fn the_catalog_lists_by_category_and_finds_aliases() {
    let s = Session::bare();
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&s.kh_ok(&["providers", "list", "--json"])).unwrap();
    let mode = |m: &str| all.iter().filter(|p| p["auth_mode"] == m).count();
    assert!(mode("oauth2") >= 100, "{}", mode("oauth2"));
    assert!(mode("api_key") + mode("basic") >= 50);
    let x = all.iter().find(|p| p["id"] == "x").unwrap();
    assert_eq!(x["aliases"][0], "twitter");
    assert_eq!(x["icon"], "x");
    let ai: Vec<serde_json::Value> =
        serde_json::from_str(&s.kh_ok(&["providers", "list", "--category", "AI", "--json"]))
            .unwrap();
    assert!(ai.len() >= 10, "{ai:?}");
    assert!(ai.iter().all(|p| {
        p["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "ai")
    }));
    assert!(ai.iter().any(|p| p["id"] == "openai"));
    let table = s.kh_ok(&["providers", "list", "--category", "ai"]);
    assert!(
        table.lines().next().unwrap().ends_with("CATEGORIES"),
        "{table}"
    );
    let err = assert_fails(
        &s.kh(&["providers", "list", "--category", "monitorin"]),
        2,
        "did you mean monitoring?",
    );
    assert!(err.contains("the categories are dev-tools,"), "{err}");
    // An alias leads to the entry's id.
    assert_fails(
        &s.kh(&["providers", "show", "twitter"]),
        2,
        "did you mean x?",
    );
    let ms = s.kh_ok(&["providers", "show", "microsoft", "--json"]);
    assert!(ms.contains("\"onedrive\""), "{ms}");
}

/// The smaller ones: what each says and its exit code.
#[test]
fn small_things_say_what_they_mean() {
    // Usage errors in the one error style, exit 2.
    let s = Session::bare();
    let err = assert_fails(&s.kh(&["list", "--frobnicate"]), 2, "unexpected argument");
    assert!(err.contains("usage: keyhaven list"), "{err}");
    // The catalog without a vault.
    let out = s.kh(&["providers", "list"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ID "));
    let fields = s.kh_ok(&["credentials", "fields", "aws"]);
    assert!(
        fields.contains("1. access_key_id") && fields.contains("AWS_ACCESS_KEY_ID"),
        "{fields}"
    );
    assert!(
        fields.contains("region") && fields.contains("eu-central-1"),
        "{fields}"
    );
    let oauth = s.kh_ok(&["credentials", "fields", "github"]);
    assert!(oauth.contains("keyhaven connect github"), "{oauth}");
    // A relative KEYHAVEN_HOME is refused.
    let out = s
        .command(keyhaven_bin())
        .args(["list"])
        .env("KEYHAVEN_HOME", "relative/dir")
        .output()
        .unwrap();
    assert_fails(&out, 2, "absolute path");
    // init --passphrase without a terminal or file: says how to give one.
    let err = assert_fails(&s.kh(&["init", "--passphrase"]), 2, "--passphrase-file");
    assert!(!err.contains("is protected by a passphrase"), "{err}");

    let (s, pass) = vault_with_passphrase();
    let pass = pass.to_str().unwrap();
    // rekey with the unlock file set but no new one: names the missing option.
    let out = s
        .command(keyhaven_bin())
        .args(["vault", "rekey"])
        .env("KEYHAVEN_PASSPHRASE_FILE", pass)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_fails(&out, 2, "--new-passphrase-file");
    // vault import of a file that is not there: bad input.
    assert_fails(
        &s.kh(&[
            "--passphrase-file",
            pass,
            "vault",
            "import",
            "/nonexistent.age",
            "--backup-passphrase-file",
            pass,
        ]),
        2,
        "cannot open",
    );
    // vault export - : the encrypted bytes on stdout (not with --move).
    let out = s.kh(&[
        "--passphrase-file",
        pass,
        "vault",
        "export",
        "-",
        "--backup-passphrase-file",
        pass,
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.starts_with(b"age-encryption.org/v1"),
        "an age file on stdout"
    );
    assert!(!s.tmp.path().join("-").exists());
    assert_fails(
        &s.kh(&[
            "--passphrase-file",
            pass,
            "vault",
            "export",
            "-",
            "--move",
            "--backup-passphrase-file",
            pass,
        ]),
        2,
        "--move needs a file",
    );

    // --passphrase-file on a keychain vault is said, not silently ignored.
    let k = Session::with_keyring();
    k.kh_ok(&["init"]);
    let out = k.kh(&["--passphrase-file", pass, "list"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--passphrase-file is ignored"));
    // No Rust names in messages.
    let out = k.kh(&["connect", "hetzner"]);
    let err = assert_fails(&out, 2, "an API key");
    assert!(!err.contains("ApiKey"), "{err}");
}
