//! Cloud credentials against the local fake of each provider's API, which checks the real
//! authentication scheme (OVH `$1$` signatures on server time, Exoscale EXO2-HMAC-SHA256, AWS
//! SigV4, Contabo's password grant and x-request-id, bearer / X-Auth-Token / Basic): every
//! provider verifies and names the account; each error class reads as its own sentence; `env`
//! quotes safely; `exec` passes the variables, stdin, exit codes and signals through.

use std::time::{Duration, Instant};

use crate::support::assert_fails;
use crate::support::cloud::Cloud;

/// `credentials add PROVIDER --json` with non-secret `fields` on the command line and the rest
/// (`stdin` lines, catalog order) piped.
fn add(
    c: &Cloud,
    provider: &str,
    fields: &[(&str, String)],
    extra: &[&str],
    stdin: &[String],
) -> std::process::Output {
    let field_args: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut args = vec!["credentials", "add", provider, "--json"];
    for f in &field_args {
        args.push("--field");
        args.push(f);
    }
    args.extend_from_slice(extra);
    let input: String = stdin.iter().map(|l| format!("{l}\n")).collect();
    c.kh_input(&args, &input)
}

fn ok(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_provider_verifies_with_its_own_scheme_and_names_the_account() {
    let c = Cloud::new();
    let a = |p: &str, s: &str, f: &str| c.fake.acct(p, s, f);
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, String)>,
        Vec<&'a str>,
        Vec<String>,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "hetzner",
            vec![],
            vec!["--account", "web-project"],
            vec![a("hetzner", "valid", "token")],
            "web-project",
        ),
        (
            "scaleway",
            vec![("access_key", a("scaleway", "valid", "access_key"))],
            vec![],
            vec![a("scaleway", "valid", "secret_key"), String::new()],
            "",
        ),
        (
            "ovhcloud",
            vec![("application_key", a("ovh", "eu_only", "application_key"))],
            vec![],
            vec![
                a("ovh", "eu_only", "application_secret"),
                a("ovh", "eu_only", "consumer_key"),
            ],
            "kf11111-ovh",
        ),
        (
            "ovhcloud-oauth2",
            vec![("client_id", a("ovh", "oauth2", "client_id"))],
            vec![],
            vec![a("ovh", "oauth2", "client_secret")],
            "kf11111-ovh",
        ),
        (
            "exoscale",
            vec![("api_key", a("exoscale", "valid", "api_key"))],
            vec![],
            vec![a("exoscale", "valid", "api_secret")],
            "",
        ),
        (
            "contabo",
            vec![
                ("client_id", a("contabo", "valid", "client_id")),
                ("username", a("contabo", "valid", "api_user")),
            ],
            vec![],
            vec![
                a("contabo", "valid", "client_secret"),
                a("contabo", "valid", "api_password"),
            ],
            "api-user@keyhaven.invalid",
        ),
        (
            "digitalocean-token",
            vec![],
            vec![],
            vec![a("digitalocean", "valid", "token")],
            "",
        ),
        (
            "linode-token",
            vec![],
            vec![],
            vec![a("linode", "valid", "token")],
            "kh-fake-linode",
        ),
        (
            "vultr",
            vec![],
            vec![],
            vec![a("vultr", "valid", "api_key")],
            "",
        ),
        (
            "upcloud",
            vec![("username", a("upcloud", "valid", "username"))],
            vec![],
            vec![a("upcloud", "valid", "password")],
            "kh-fake-api-user",
        ),
        (
            "upcloud-token",
            vec![],
            vec![],
            vec![a("upcloud", "valid", "token")],
            "kh-fake-api-user",
        ),
        (
            "cloudflare",
            vec![],
            vec![],
            vec![a("cloudflare", "valid", "token")],
            "",
        ),
        (
            "aws",
            vec![("access_key_id", a("aws", "permanent", "access_key_id"))],
            vec![],
            vec![a("aws", "permanent", "secret_access_key"), String::new()],
            "",
        ),
        (
            "aws",
            vec![("access_key_id", a("aws", "temporary", "access_key_id"))],
            vec!["--var", "region=eu-central-1"],
            vec![
                a("aws", "temporary", "secret_access_key"),
                a("aws", "temporary", "session_token"),
            ],
            "",
        ),
        // Header with a prefix, and Basic with one half fixed (docs/providers.md#verification).
        (
            "pagerduty-token",
            vec![],
            vec!["--account", "pd-main"],
            vec![a("pagerduty", "valid", "token")],
            "pd-main",
        ),
        (
            "freshdesk",
            vec![],
            vec!["--var", "domain=khfake"],
            vec![a("freshdesk", "valid", "api_key")],
            "agent@keyhaven.invalid",
        ),
        (
            "mailchimp-api-key",
            vec![],
            vec!["--var", "dc=us21"],
            vec![a("mailchimp", "valid", "api_key")],
            "owner@keyhaven.invalid",
        ),
        (
            "railway",
            vec![],
            vec![],
            vec![a("railway", "valid", "token")],
            "rail@keyhaven.invalid",
        ),
        // IBM's own grant for the key, then the key's details (the key in IAM-Apikey).
        (
            "ibm-cloud",
            vec![],
            vec![],
            vec![a("ibm", "valid", "apikey")],
            "IBMid-55000KHFAKE",
        ),
        (
            "stripe-key",
            vec![],
            vec![],
            vec![a("stripe", "valid", "api_key")],
            "billing@keyhaven.invalid",
        ),
    ];
    for (provider, fields, extra, stdin, want_account) in cases {
        let report = ok(&add(&c, provider, &fields, &extra, &stdin));
        assert_eq!(report["verified"], true, "{provider}: {report}");
        let account = report["account"].as_str().unwrap();
        if !want_account.is_empty() {
            assert_eq!(account, want_account, "{provider}: {report}");
        }
        // The account the fake's identity names, where it has one.
        eprintln!("{provider}: {account} {}", report["found"]);
        assert!(
            !account.is_empty() && !account.starts_with("key sha256"),
            "{provider}"
        );
    }
    // Identities read from the real response shapes.
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&c.s.kh_ok(&["list", "--json"])).unwrap();
    let accounts: Vec<String> = list
        .iter()
        .map(|l| {
            format!(
                "{}:{}",
                l["provider"].as_str().unwrap(),
                l["account"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        accounts
            .iter()
            .any(|a| a.starts_with("aws:arn:aws:iam::123456789012:user/")),
        "{accounts:?}"
    );
    assert!(
        accounts
            .iter()
            .any(|a| a.starts_with("aws:arn:aws:sts::123456789012:assumed-role/"))
    );
    assert_eq!(list.len(), 20, "{accounts:?}");
    // No secret ever went into a URL.
    let secrets: Vec<String> = ["hetzner", "digitalocean", "linode"]
        .iter()
        .map(|p| c.fake.acct(p, "valid", "token"))
        .chain([c.fake.acct("ovh", "eu_only", "application_secret")])
        .collect();
    for r in c.fake.requests() {
        let path = r["path"].as_str().unwrap();
        for s in &secrets {
            assert!(!path.contains(s.as_str()), "secret in URL: {path}");
        }
    }
    // Contabo: every API call carried a fresh UUID x-request-id.
    let contabo: Vec<_> = c
        .fake
        .requests()
        .into_iter()
        .filter(|r| r["host"] == "api.contabo.com")
        .collect();
    assert!(!contabo.is_empty());
    for r in contabo {
        let id = r["headers"]["x-request-id"].as_str().unwrap_or_default();
        assert_eq!(id.len(), 36, "{r}");
    }
}

/// A Google Cloud service-account key: the key file read with --field-file, an RS256 assertion
/// the fake verifies with the key's public half, a one-hour token handed out and in `env`; a
/// key whose id the server does not know is refused and nothing is stored.
#[test]
fn a_service_account_key_signs_its_own_grant() {
    let c = Cloud::new();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/cloud-fake/gcp-service-account.json"
    );
    let key = std::fs::read_to_string(fixture).unwrap();
    let file = c.s.tmp.path().join("key.json");
    std::fs::write(&file, &key).unwrap();
    let arg = format!("key_json={}", file.display());
    let report = ok(&c.kh_input(
        &[
            "credentials",
            "add",
            "gcp-service-account",
            "--field-file",
            &arg,
            "--json",
        ],
        "",
    ));
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(
        report["account"], "ci-deployer@keyhaven-fake.iam.gserviceaccount.com",
        "{report}"
    );
    assert_eq!(report["found"]["project"], "keyhaven-fake", "{report}");
    let out = c
        .command(&["token", "gcp-service-account"])
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(token.trim().starts_with("ya29.khfake-"), "{token}");
    let env: serde_json::Value = serde_json::from_slice(
        &c.command(&["env", "gcp-service-account", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(env["GOOGLE_OAUTH_ACCESS_TOKEN"], token.trim());
    let grants: Vec<_> = c
        .fake
        .requests()
        .into_iter()
        .filter(|r| r["host"] == "oauth2.googleapis.com")
        .collect();
    assert_eq!(
        grants.len(),
        1,
        "the token was kept, not fetched per hand-out: {grants:?}"
    );
    // No secret of the key in any output or URL.
    assert!(!report.to_string().contains("PRIVATE"));
    for r in c.fake.requests() {
        assert!(!r["path"].as_str().unwrap().contains("PRIVATE"), "{r}");
    }

    // A key the server does not know (another key id): refused with Google's words.
    let other = c.s.tmp.path().join("other.json");
    std::fs::write(&other, key.replace("gcp1", "gcp9")).unwrap();
    let arg = format!("key_json={}", other.display());
    let out = c.kh_input(
        &[
            "credentials",
            "add",
            "gcp-service-account",
            "--field-file",
            &arg,
            "--account",
            "x",
        ],
        "",
    );
    let err = assert_fails(&out, 2, "Invalid JWT Signature");
    assert!(!err.contains("PRIVATE"), "{err}");
    // Bad --field-file input: one line, exit 2.
    assert_fails(
        &c.kh_input(
            &[
                "credentials",
                "add",
                "gcp-service-account",
                "--field-file",
                "nope",
            ],
            "",
        ),
        2,
        "expected NAME=PATH",
    );
    assert_fails(
        &c.kh_input(
            &[
                "credentials",
                "add",
                "gcp-service-account",
                "--field-file",
                "key=/nonexistent",
            ],
            "",
        ),
        2,
        "has no field \"key\"; its fields are key_json",
    );
    assert_fails(
        &c.kh_input(
            &[
                "credentials",
                "add",
                "gcp-service-account",
                "--field-file",
                "key_json=/nonexistent/k.json",
            ],
            "",
        ),
        2,
        "cannot read /nonexistent/k.json",
    );
    let text = c.s.tmp.path().join("not.json");
    std::fs::write(&text, "-----BEGIN PRIVATE KEY-----\nMIIE\n").unwrap();
    let arg = format!("key_json={}", text.display());
    let err = assert_fails(
        &c.kh_input(
            &[
                "credentials",
                "add",
                "gcp-service-account",
                "--field-file",
                &arg,
            ],
            "",
        ),
        2,
        "is not a JSON document",
    );
    assert!(!err.contains("MIIE"), "{err}");
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&c.s.kh_ok(&["list", "--json"])).unwrap();
    assert_eq!(list.len(), 1, "only the first key was stored: {list:?}");
}

/// An IBM Cloud API key: exchanged by IAM's own grant with no client authentication, checked by
/// reading its details (the key in a header, never in a URL), then handed out as the token.
#[test]
fn an_ibm_key_is_exchanged_by_its_own_grant() {
    let c = Cloud::new();
    let bad = add(&c, "ibm-cloud", &[], &[], &["KHfakeIBMwrongkey".into()]);
    assert_fails(&bad, 2, "Provided API key could not be found");
    let key = c.fake.acct("ibm", "valid", "apikey");
    let report = ok(&add(&c, "ibm-cloud", &[], &[], std::slice::from_ref(&key)));
    assert_eq!(report["account"], "IBMid-55000KHFAKE", "{report}");
    assert_eq!(
        report["found"]["account_id"],
        "0fa4e0000000000000000000000ibm01"
    );
    for _ in 0..2 {
        let out = c.command(&["token", "ibm-cloud"]).output().unwrap();
        let token = String::from_utf8(out.stdout).unwrap();
        assert!(token.starts_with("eyKHfakeIBM."), "{token}");
    }
    let requests = c.fake.requests();
    let grants = requests
        .iter()
        .filter(|r| r["host"] == "iam.cloud.ibm.com" && r["path"] == "/identity/token")
        .count();
    assert_eq!(
        grants, 2,
        "one refused, one for the connection; hand-outs reuse its token"
    );
    for r in &requests {
        assert!(
            !r["path"].as_str().unwrap().contains(&key),
            "key in a URL: {r}"
        );
    }
}

/// A GraphQL API answers a bad key with HTTP 200 and `errors`: `verify.error_pointer` makes
/// that a rejection, and nothing is stored.
#[test]
fn a_graphql_error_with_http_200_is_a_rejection() {
    let c = Cloud::new();
    let out = add(
        &c,
        "railway",
        &[],
        &[],
        &["0fa4e000-0000-4000-8000-0000000bad01".into()],
    );
    let err = assert_fails(&out, 2, "Railway refused the credentials: Not Authorized");
    assert!(!err.contains("bad01"), "{err}");
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&c.s.kh_ok(&["list", "--json"])).unwrap();
    assert!(list.is_empty(), "{list:?}");
}

#[test]
fn each_failure_class_reads_as_its_own_sentence_and_stores_nothing() {
    let c = Cloud::new();
    let a = |p: &str, s: &str, f: &str| c.fake.acct(p, s, f);
    // Invalid: a well-formed token the provider does not know.
    let out = add(&c, "hetzner", &[], &[], &["A".repeat(64)]);
    let err = assert_fails(
        &out,
        2,
        "Hetzner Cloud rejected these credentials (HTTP 401",
    );
    assert!(err.contains("https://console.hetzner.cloud/"), "{err}");
    // Forbidden: authenticated, not allowed to read the account.
    let out = add(
        &c,
        "digitalocean-token",
        &[],
        &[],
        &[a("digitalocean", "forbidden", "token")],
    );
    let err = assert_fails(&out, 2, "accepted the credentials but");
    assert!(err.contains("account:read"), "{err}");
    let out = add(
        &c,
        "scaleway",
        &[("access_key", a("scaleway", "forbidden", "access_key"))],
        &[],
        &[a("scaleway", "forbidden", "secret_key"), String::new()],
    );
    assert_fails(&out, 2, "IAMReadOnly");
    // Wrong region: EU keys presented at the Canadian endpoint.
    let out = add(
        &c,
        "ovhcloud",
        &[("application_key", a("ovh", "eu_only", "application_key"))],
        &["--var", "endpoint=ovh-ca"],
        &[
            a("ovh", "eu_only", "application_secret"),
            a("ovh", "eu_only", "consumer_key"),
        ],
    );
    assert_fails(
        &out,
        2,
        "belong to endpoint ovh-eu, not ovh-ca: add them with --var endpoint=ovh-eu",
    );
    // A secret that is wrong (signature mismatch) is "rejected", and never echoed.
    let wrong = "W".repeat(32);
    let out = add(
        &c,
        "ovhcloud",
        &[("application_key", a("ovh", "eu_only", "application_key"))],
        &[],
        &[wrong.clone(), a("ovh", "eu_only", "consumer_key")],
    );
    let err = assert_fails(&out, 2, "rejected these credentials");
    assert!(!err.contains(&wrong));
    // Clock skew: AWS an hour ahead of us; Exoscale's too; OVH is compensated by /auth/time.
    c.fake.clock(3600);
    let out = add(
        &c,
        "aws",
        &[("access_key_id", a("aws", "permanent", "access_key_id"))],
        &[],
        &[a("aws", "permanent", "secret_access_key"), String::new()],
    );
    assert_fails(&out, 1, "clock is off: it is 60 min behind");
    let out = add(
        &c,
        "exoscale",
        &[("api_key", a("exoscale", "valid", "api_key"))],
        &[],
        &[a("exoscale", "valid", "api_secret")],
    );
    assert_fails(&out, 1, "clock is off");
    let report = ok(&add(
        &c,
        "ovhcloud",
        &[("application_key", a("ovh", "eu_only", "application_key"))],
        &[],
        &[
            a("ovh", "eu_only", "application_secret"),
            a("ovh", "eu_only", "consumer_key"),
        ],
    ));
    assert_eq!(
        report["found"]["clock_offset"],
        "60 min behind (compensated with OVHcloud's time)"
    );
    c.s.kh_ok(&["disconnect", "ovhcloud", "--keep-remote"]);
    c.fake.reset();
    // Network trouble: a 503, an HTML page with 200, a server that never answers.
    for (mode, want) in [
        ("status_503", "could not verify with Vultr (HTTP 503"),
        ("html", "not its API's response"),
        ("hang", "could not reach Vultr"),
    ] {
        c.fake.fault("api.vultr.com", mode);
        let t = Instant::now();
        let out = add(&c, "vultr", &[], &[], &[a("vultr", "valid", "api_key")]);
        assert_fails(&out, 1, want);
        assert!(t.elapsed() < Duration::from_secs(20), "{mode}: bounded");
        c.fake.reset();
    }
    // A value that cannot be right is refused before any request.
    let before = c.fake.requests().len();
    let out = add(&c, "hetzner", &[], &[], &["short".into()]);
    assert_fails(&out, 2, "API token does not look right");
    assert_eq!(
        c.fake.requests().len(),
        before,
        "no request for a malformed value"
    );
    assert_eq!(
        c.s.kh_ok(&["list", "--json"]).trim(),
        "[]",
        "nothing stored"
    );
}

#[test]
fn env_quotes_hostile_values_and_exec_passes_everything_through() {
    let c = Cloud::new();
    let token = c.fake.acct("hetzner", "valid", "token");
    ok(&add(
        &c,
        "hetzner",
        &[],
        &["--account", "p"],
        std::slice::from_ref(&token),
    ));
    let hostile = r#"it's "$(touch pwned)" `id` \ $HOME"#;
    let out = c.kh_input(
        &["credentials", "add", "api-key", "--no-verify"],
        &format!("{hostile}\n"),
    );
    assert!(out.status.success(), "{out:?}");

    // sh: eval'd by a real shell gives back the exact bytes, and runs nothing.
    let sh = String::from_utf8(c.command(&["env", "api-key"]).output().unwrap().stdout).unwrap();
    let dir = c.s.tmp.path();
    let printed = std::process::Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        .arg(format!("{sh}\nprintf %s \"$API_KEY\""))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&printed.stdout), hostile);
    assert!(!dir.join("pwned").exists(), "nothing executed");
    // dotenv and json.
    let dotenv = String::from_utf8(
        c.command(&["env", "api-key", "--format", "dotenv"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(dotenv.starts_with("API_KEY=\""), "{dotenv}");
    let json: serde_json::Value = serde_json::from_slice(
        &c.command(&["env", "hetzner", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["HCLOUD_TOKEN"], token.as_str());

    // exec: variables, stdin and the exit code pass through.
    let out = crate::support::run_with_input(
        &mut c.command(&[
            "exec",
            "--with",
            "hetzner",
            "--",
            "sh",
            "-c",
            "printf '%s|' \"$HCLOUD_TOKEN\"; cat; exit 7",
        ]),
        "from stdin",
    );
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{token}|from stdin")
    );
    // A signal that kills the command kills "keyhaven exec" the same way (it became the command).
    let mut child = c
        .command(&["exec", "--with", "hetzner", "--", "sleep", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    unsafe_kill(child.id(), 15);
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15), "{status:?}");
    // Two connections that set the same variable, a command that does not exist.
    let out = c
        .command(&[
            "exec", "--with", "hetzner", "--with", "hetzner", "--", "true",
        ])
        .output()
        .unwrap();
    assert_fails(&out, 2, "both set HCLOUD_TOKEN");
    let out = c
        .command(&["exec", "--with", "hetzner", "--", "no-such-tool-kh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    let audit = c.s.kh_ok(&["audit"]);
    assert!(
        audit.contains("credentials.env") && audit.contains("exec sh"),
        "{audit}"
    );
    assert!(!audit.contains(&token));
}

fn unsafe_kill(pid: u32, sig: i32) {
    std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
}
