//! The tools' own credential helpers (docs/tools.md), driven by the real tools against local
//! servers that accept only a token the real authorization server says is active: git
//! (clone, push, fetch through `git http-backend`), kubectl (`get --raw /version` over TLS),
//! skopeo (copy and inspect through a real registry), the AWS CLI (a profile written by
//! `setup aws`, a SigV4-signed call against the cloud fake), and the docker, Terraform and
//! cargo protocols driven as their clients drive them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::cloud::Cloud;
use crate::support::oauth::{AuthServer, Flow};
use crate::support::tools::{ToolServer, hand_outs, have, tool, tool_ok};
use crate::support::{Session, assert_fails, dir_digest, keyhaven_bin, run_with_input};

/// Access tokens of the test server live this long in the tests that wait for one to expire.
const SHORT_TTL: &str = "4";

fn refreshes(f: &Flow) -> i64 {
    f.server.token_requests("refresh_token")
}

fn git_config_global(s: &Session) -> String {
    std::fs::read_to_string(s.tmp.path().join("home/.gitconfig")).unwrap_or_default()
}

#[test]
fn git_clones_pushes_and_fetches_with_a_fresh_token_and_one_refresh_per_expiry() {
    let f = Flow::with_server(AuthServer::start_with(&[("KH_AS_ACCESS_TTL", SHORT_TTL)]));
    let id = f.connect("alice");
    let root = f.s.tmp.path().join("repos");
    std::fs::create_dir_all(&root).unwrap();
    tool_ok(
        &f.s,
        "git",
        &["init", "-q", "--bare", "-b", "main", "repo.git"],
        &root,
    );
    let server = ToolServer::start(
        "git-server",
        &f.server.issuer,
        &[("KH_GIT_ROOT", root.to_str().unwrap())],
    );
    let host = server.host();
    let repo_url = format!("{}/repo.git", server.url());
    let work = f.s.tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();

    // Before setup: git has no credentials and fails, without prompting.
    let out = tool(&f.s, "git", &["clone", "-q", &repo_url, "before"], &work);
    assert!(!out.status.success());

    // A config the person had: setup must leave it as it was after --remove.
    tool_ok(
        &f.s,
        "git",
        &["config", "--global", "user.name", "Someone"],
        &work,
    );
    tool_ok(
        &f.s,
        "git",
        &[
            "config",
            "--global",
            &format!("credential.http://{host}.helper"),
            "cache",
        ],
        &work,
    );
    let before = git_config_global(&f.s);

    let out = f.s.kh_ok(&["setup", "git", &id, "--host", &host, "--json"]);
    let reports: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reports[0]["changed"], true, "{reports}");
    // Idempotent: a second setup changes nothing.
    let again: serde_json::Value =
        serde_json::from_str(&f.s.kh_ok(&["setup", "git", &id, "--host", &host, "--json"]))
            .unwrap();
    assert_eq!(again[0]["changed"], false, "{again}");
    let helpers = tool_ok(
        &f.s,
        "git",
        &[
            "config",
            "--global",
            "--get-all",
            &format!("credential.http://{host}.helper"),
        ],
        &work,
    );
    let lines: Vec<&str> = helpers.lines().collect();
    assert_eq!(lines.len(), 2, "{helpers}");
    assert_eq!(lines[0], "");
    assert!(lines[1].ends_with("keyhaven git-credential"), "{helpers}");
    assert!(Path::new(lines[1].split(' ').next().unwrap()).is_absolute());

    // Clone, commit, push, all with the token from Keyhaven.
    tool_ok(&f.s, "git", &["clone", "-q", &repo_url, "clone"], &work);
    let clone = work.join("clone");
    std::fs::write(clone.join("README"), "hello\n").unwrap();
    tool_ok(&f.s, "git", &["add", "README"], &clone);
    tool_ok(&f.s, "git", &["commit", "-q", "-m", "first"], &clone);
    tool_ok(&f.s, "git", &["push", "-q", "origin", "HEAD:main"], &clone);
    let st = server.stats();
    assert!(st["authorized"].as_i64().unwrap() >= 2, "{st}");
    assert!(
        st["usernames"]
            .as_array()
            .unwrap()
            .contains(&"oauth2".into()),
        "{st}"
    );

    // The token expires between two fetches: the second still works, with exactly one refresh.
    let r0 = refreshes(&f);
    std::thread::sleep(Duration::from_secs(SHORT_TTL.parse::<u64>().unwrap() + 1));
    tool_ok(&f.s, "git", &["fetch", "-q", "origin"], &clone);
    assert_eq!(refreshes(&f) - r0, 1, "one refresh for the expired token");
    tool_ok(&f.s, "git", &["fetch", "-q", "origin"], &clone);
    assert_eq!(
        refreshes(&f) - r0,
        1,
        "a fresh token is not refreshed again"
    );
    assert_eq!(server.stats()["distinct_tokens"], 2);

    // The server refuses a token Keyhaven believes valid (revoked at the provider): git gets
    // a 401 and erases; the next fetch gets a new token with exactly one refresh, and further
    // erases of the dead token change nothing.
    let dead = f.access_token(&id);
    server.deny_seen();
    let r1 = refreshes(&f);
    let out = tool(&f.s, "git", &["fetch", "-q", "origin"], &clone);
    assert!(!out.status.success(), "the dead token was refused");
    assert_eq!(refreshes(&f), r1, "erase refreshes nothing by itself");
    let stale: Vec<serde_json::Value> =
        serde_json::from_str::<Vec<serde_json::Value>>(&f.s.kh_ok(&["audit", "--json"]))
            .unwrap()
            .into_iter()
            .filter(|e| e["action"] == "token.marked_stale")
            .collect();
    assert_eq!(stale.len(), 1, "git's erase marked the token stale once");
    tool_ok(&f.s, "git", &["fetch", "-q", "origin"], &clone);
    assert_eq!(refreshes(&f) - r1, 1);
    let erase = format!("protocol=http\nhost={host}\nusername=oauth2\npassword={dead}\n\n");
    for _ in 0..3 {
        let out = f.s.kh_input(&["git-credential", "erase"], &erase);
        assert!(out.status.success(), "{out:?}");
    }
    tool_ok(&f.s, "git", &["fetch", "-q", "origin"], &clone);
    assert_eq!(
        refreshes(&f) - r1,
        1,
        "no refresh storm from repeated erases"
    );
    assert!(
        f.field(&id, "refresh_token").is_some(),
        "erase never deletes the refresh token"
    );

    // Every hand-out is audited with the tool and the program behind the helper.
    let outs = hand_outs(&f.s, "git");
    assert!(outs.len() >= 5, "{outs:?}");
    assert!(outs.iter().all(|e| e["connection_id"] == id.as_str()));
    assert!(
        outs.iter().any(|e| e["parent_program"]
            .as_str()
            .is_some_and(|p| p.contains("git"))),
        "{outs:?}"
    );

    // Removing leaves the git config exactly as it was.
    f.s.kh_ok(&["setup", "git", "--host", &host, "--remove"]);
    assert_eq!(git_config_global(&f.s), before);
    let list = f.s.kh_ok(&["setup", "list", "--json"]);
    assert_eq!(list.trim(), "[]");
}

#[test]
fn git_falls_through_to_the_next_helper_for_hosts_keyhaven_does_not_know() {
    let f = Flow::new();
    let _id = f.connect("alice");
    let kh = keyhaven_bin();
    let helper = format!("{} git-credential", kh.display());
    let cwd = f.s.tmp.path().to_path_buf();
    for host in ["unknown.example", "github.com"] {
        let out = crate::support::run_with_input(
            f.s.command("git")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_TERMINAL_PROMPT", "0")
                .current_dir(&cwd)
                .args([
                    "-c",
                    &format!("credential.helper={helper}"),
                    "-c",
                    "credential.helper=!f() { echo username=next; echo password=from-next-helper; }; f",
                    "credential",
                    "fill",
                ]),
            &format!("protocol=https\nhost={host}\n\n"),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        assert!(text.contains("password=from-next-helper"), "{host}: {text}");
    }
    // Plain http to a host that is not this machine: never a token, said on stderr.
    let out = f.s.kh_input(
        &["git-credential", "get"],
        "protocol=http\nhost=example.com\n\n",
    );
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain http"));
}

fn kubeconfig(dir: &Path, server: &ToolServer) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    \
             certificate-authority: {}\nusers:\n- name: someone\n  user:\n    token: not-a-token\n\
             contexts:\n- name: test\n  context:\n    cluster: test\n    user: someone\n\
             current-context: test\n",
            server.url(),
            server.ready["ca_file"].as_str().unwrap()
        ),
    )
    .unwrap();
    path
}

/// kubectl's minor version (the exec plugin's v1 API needs 1.22+).
fn kubectl_minor() -> u32 {
    let out = std::process::Command::new("kubectl")
        .args(["version", "--client", "-o", "json"])
        .output()
        .expect("kubectl runs (make test installs it)");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let minor = v["clientVersion"]["minor"].as_str().unwrap_or("0");
    minor.trim_end_matches('+').parse().unwrap_or(0)
}

#[test]
fn kubectl_gets_a_fresh_token_from_the_exec_plugin() {
    assert!(
        std::process::Command::new("kubectl")
            .args(["version", "--client"])
            .output()
            .is_ok_and(|o| o.status.success()),
        "kubectl is needed (make test installs it)"
    );
    let f = Flow::with_server(AuthServer::start_with(&[("KH_AS_ACCESS_TTL", SHORT_TTL)]));
    let id = f.connect("alice");
    let server = ToolServer::start("kube-server", &f.server.issuer, &[]);
    let dir = f.s.tmp.path().to_path_buf();
    let config = kubeconfig(&dir, &server);
    let kubectl = |args: &[&str]| {
        let mut c = f.s.command("kubectl");
        c.env("KUBECONFIG", &config).args(args);
        crate::support::output_within(&mut c, 120)
    };
    let out = kubectl(&["get", "--raw", "/version"]);
    assert!(!out.status.success(), "the old user's token is refused");
    let before = std::fs::read_to_string(&config).unwrap();

    let mut setup = vec!["setup", "kube", id.as_str(), "--context", "test"];
    if kubectl_minor() < 22 {
        setup.extend(["--api-version", "client.authentication.k8s.io/v1beta1"]);
    }
    let mut c = f.s.command(keyhaven_bin());
    c.env("KUBECONFIG", &config).args(&setup);
    let out = crate::support::output_within(&mut c, 60);
    assert!(out.status.success(), "{out:?}");
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains("interactiveMode: Never"), "{written}");

    let out = kubectl(&["get", "--raw", "/version"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("keyhaven-test"));
    let r0 = refreshes(&f);
    std::thread::sleep(Duration::from_secs(SHORT_TTL.parse::<u64>().unwrap() + 1));
    let out = kubectl(&["get", "--raw", "/version"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(refreshes(&f) - r0, 1);
    assert!(hand_outs(&f.s, "kubectl").len() >= 2);

    // The ExecCredential itself, with the apiVersion kubectl asks for.
    let mut c = f.s.command(keyhaven_bin());
    c.env(
        "KUBERNETES_EXEC_INFO",
        r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}"#,
    )
    .args(["kube", "credential", &id]);
    let out = crate::support::output_within(&mut c, 60);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(v["kind"], "ExecCredential");
    assert!(v["status"]["expirationTimestamp"].is_string());
    assert!(f.server.introspect(v["status"]["token"].as_str().unwrap()));

    // Removing points the context back at its old user and deletes Keyhaven's.
    let mut c = f.s.command(keyhaven_bin());
    c.env("KUBECONFIG", &config)
        .args(["setup", "kube", "--context", "test", "--remove"]);
    let out = crate::support::output_within(&mut c, 60);
    assert!(out.status.success(), "{out:?}");
    let after: serde_json::Value = serde_yaml_value(&std::fs::read_to_string(&config).unwrap());
    let orig: serde_json::Value = serde_yaml_value(&before);
    assert_eq!(after, orig);
}

/// A YAML document as JSON (kubeconfigs compare by content, not by formatting).
fn serde_yaml_value(text: &str) -> serde_json::Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn skopeo_copies_and_inspects_through_a_registry_that_takes_only_the_token() {
    assert!(have("skopeo"), "skopeo is needed (make test installs it)");
    let f = Flow::new();
    let id = f.connect("alice");
    let server = ToolServer::start("registry-proxy", &f.server.issuer, &[]);
    let registry = server.ready["host"].as_str().unwrap().to_string();
    let dir = f.s.tmp.path().to_path_buf();
    let img = dir.join("img");
    let script = crate::support::oauth::repo_root().join("tests/tool-servers/make-oci-image.sh");
    tool_ok(
        &f.s,
        "bash",
        &[script.to_str().unwrap(), img.to_str().unwrap()],
        &dir,
    );
    let bin = dir.join("home/bin");
    f.s.kh_ok(&[
        "setup",
        "docker",
        &id,
        "--registry",
        &registry,
        "--link-dir",
        bin.to_str().unwrap(),
    ]);
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("home/.docker/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["credHelpers"][&registry], "keyhaven");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let skopeo = |args: &[&str]| {
        let mut c = f.s.command("skopeo");
        c.env("PATH", &path).args(args);
        crate::support::output_within(&mut c, 120)
    };
    let dest = format!("docker://{registry}/keyhaven/test:latest");
    let out = skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:latest", img.display()),
        &dest,
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = skopeo(&["inspect", "--tls-verify=false", &dest]);
    assert!(out.status.success(), "{out:?}");
    let st = server.stats();
    assert!(st["authorized"].as_i64().unwrap() >= 3, "{st}");
    assert!(hand_outs(&f.s, "docker").len() >= 2);

    // The protocol as docker-credential-helpers' client drives it, through the link.
    let link = bin.join("docker-credential-keyhaven");
    let run = |verb: &str, input: &str| {
        let mut c = f.s.command(&link);
        c.arg(verb);
        run_with_input(&mut c, input)
    };
    let out = run("get", &format!("https://{registry}\n"));
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ServerURL"], format!("https://{registry}"));
    assert_eq!(v["Username"], "oauth2");
    assert!(f.server.introspect(v["Secret"].as_str().unwrap()));
    let out = run("get", "https://registry.unknown.example\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "credentials not found in native keychain"
    );
    let out = run("list", "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[&registry], "oauth2", "{v}");
    let out = run("version", "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("keyhaven"));
    let out = run(
        "store",
        &format!(r#"{{"ServerURL":"{registry}","Username":"u","Secret":"s"}}"#),
    );
    assert!(out.status.success(), "{out:?}");
    let out = run("erase", &format!("{registry}\n"));
    assert!(out.status.success(), "{out:?}");
    for (verb, input, needle) in [
        ("get", "", "no credentials server URL"),
        ("store", "not json", "not JSON"),
        ("frobnicate", "", "unknown verb"),
    ] {
        let out = run(verb, input);
        assert_eq!(out.status.code(), Some(1), "{verb}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(needle),
            "{verb}: {out:?}"
        );
    }

    f.s.kh_ok(&["setup", "docker", "--registry", &registry, "--remove"]);
    assert!(!link.exists(), "the last docker setup takes its link along");
    assert!(!dir.join("home/.docker/config.json").exists());
}

#[test]
fn the_aws_cli_uses_the_profile_setup_aws_writes() {
    let aws = ["/usr/bin/aws", "aws"]
        .into_iter()
        .find(|a| {
            std::process::Command::new(a)
                .arg("--version")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("aws-cli/2"))
        })
        .expect("AWS CLI v2 is needed (Debian's awscli; make test installs it)");
    let c = Cloud::new();
    let key = c.fake.acct("aws", "permanent", "access_key_id");
    let secret = c.fake.acct("aws", "permanent", "secret_access_key");
    let out = c.kh_input(
        &[
            "credentials",
            "add",
            "aws",
            "--json",
            "--field",
            &format!("access_key_id={key}"),
        ],
        &format!("{secret}\n\n"),
    );
    assert!(out.status.success(), "{out:?}");
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let config = c.s.tmp.path().join("aws-config");
    std::fs::write(&config, "[default]\nregion = eu-west-1\n").unwrap();
    let before = std::fs::read(&config).unwrap();
    let mut cmd = c.command(&[
        "setup",
        "aws",
        &id,
        "--profile",
        "kh",
        "--region",
        "us-east-1",
    ]);
    cmd.env("AWS_CONFIG_FILE", &config);
    let out = crate::support::output_within(&mut cmd, 60);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("[profile kh]"), "{text}");
    assert!(
        text.contains("credential_process = /"),
        "absolute path: {text}"
    );

    let aws_cmd = |args: &[&str]| {
        let mut cmd = c.s.command(aws);
        cmd.env("AWS_CONFIG_FILE", &config)
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                c.s.tmp.path().join("no-credentials"),
            )
            .env("KEYHAVEN_TEST_API_BASE", &c.fake.base)
            .args(args);
        crate::support::output_within(&mut cmd, 120)
    };
    let out = aws_cmd(&[
        "configure",
        "export-credentials",
        "--profile",
        "kh",
        "--format",
        "process",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["AccessKeyId"], key.as_str());
    assert_eq!(v["SecretAccessKey"], secret.as_str());

    // A signed call, checked by the fake's SigV4 verification.
    let endpoint = format!("{}/sts.us-east-1.amazonaws.com", c.fake.base);
    let out = aws_cmd(&[
        "sts",
        "get-caller-identity",
        "--profile",
        "kh",
        "--endpoint-url",
        &endpoint,
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let who: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(who["Account"], "123456789012", "{who}");
    assert!(hand_outs(&c.s, "aws").len() >= 2);

    // --aws-server: the key reaches the command only through the loopback endpoint, which
    // wants the token, and lives exactly as long as the command.
    let probe = c.s.tmp.path().join("probe.txt");
    let script = format!(
        "env | grep '^AWS_' | cut -d= -f1 | sort > {p}.env; \
         echo \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" > {p}; \
         curl -s -o /dev/null -w '%{{http_code}}' \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" > {p}.anon; \
         curl -s -o /dev/null -w '%{{http_code}}' -H 'Origin: https://evil.example' \
           -H \"Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN\" \
           \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" > {p}.origin; \
         {aws} sts get-caller-identity --region us-east-1 --endpoint-url {endpoint} --output json",
        p = probe.display()
    );
    let mut cmd = c.command(&[
        "exec",
        "--with",
        &id,
        "--aws-server",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    cmd.env("AWS_CONFIG_FILE", c.s.tmp.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            c.s.tmp.path().join("no-credentials"),
        )
        .env("AWS_SECRET_ACCESS_KEY", "stale-from-the-shell");
    let out = crate::support::output_within(&mut cmd, 120);
    assert!(out.status.success(), "{out:?}");
    let who: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(who["Account"], "123456789012", "{who}");
    let names = std::fs::read_to_string(probe.with_extension("txt.env")).unwrap();
    let names: Vec<&str> = names.lines().collect();
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        assert!(!names.contains(&key), "{key} in the environment: {names:?}");
    }
    for served in [
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        assert!(names.contains(&served), "{names:?}");
    }
    assert_eq!(
        std::fs::read_to_string(probe.with_extension("txt.anon")).unwrap(),
        "401"
    );
    assert_eq!(
        std::fs::read_to_string(probe.with_extension("txt.origin")).unwrap(),
        "403"
    );
    let url = std::fs::read_to_string(&probe).unwrap();
    let gone = reqwest::blocking::Client::new().get(url.trim()).send();
    assert!(gone.is_err(), "the server stopped with the command");
    let mut cmd = c.command(&[
        "exec",
        "--with",
        &id,
        "--aws-server",
        "--",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(
        crate::support::output_within(&mut cmd, 60).status.code(),
        Some(7)
    );

    // Bad input: an unknown connection is an error with a non-zero exit, nothing on stdout.
    let out = c.s.kh(&["aws", "credential-process", "nosuch"]);
    assert_fails(&out, 2, "no connection");
    assert!(out.stdout.is_empty());

    let mut cmd = c.command(&["setup", "aws", "--profile", "kh", "--remove"]);
    cmd.env("AWS_CONFIG_FILE", &config);
    let out = crate::support::output_within(&mut cmd, 60);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read(&config).unwrap(), before);
}

#[test]
fn terraform_and_cargo_speak_their_protocols() {
    let f = Flow::new();
    let id = f.connect("alice");
    let dir = f.s.tmp.path().to_path_buf();
    f.s.kh_ok(&["setup", "terraform", &id, "--host", "tf.example.com"]);
    let rc = std::fs::read_to_string(dir.join("home/.terraformrc")).unwrap();
    assert!(rc.contains("credentials_helper \"keyhaven\""), "{rc}");
    let plugin = dir.join("home/.terraform.d/plugins/terraform-credentials-keyhaven");
    let run = |args: &[&str], input: &str| {
        let mut c = f.s.command(&plugin);
        c.args(args);
        run_with_input(&mut c, input)
    };
    let out = run(&["get", "tf.example.com"], "");
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(f.server.introspect(v["token"].as_str().unwrap()));
    let out = run(&["get", "other.example.com"], "");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "{}");
    let out = run(&["store", "tf.example.com"], r#"{"token":"x"}"#);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not store"));
    let out = run(&["forget", "tf.example.com"], "");
    assert!(out.status.success());
    let out = run(&["frobnicate", "tf.example.com"], "");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    f.s.kh_ok(&["setup", "terraform", "--host", "tf.example.com", "--remove"]);
    assert!(!dir.join("home/.terraformrc").exists());
    assert!(!plugin.exists());

    // cargo: the provider protocol exactly as cargo drives it (hello, one request, EOF).
    f.s.kh_ok(&["setup", "cargo", &id, "--registry", "mine"]);
    let cfg = std::fs::read_to_string(dir.join("home/.cargo/config.toml")).unwrap();
    assert!(cfg.contains("[registries.mine]"), "{cfg}");
    assert!(cfg.contains("cargo-credential"), "{cfg}");
    let get = r#"{"v":1,"kind":"get","operation":"read","registry":{"index-url":"sparse+https://r.example/","name":"mine"},"args":[]}"#;
    let other = r#"{"v":1,"kind":"get","operation":"read","registry":{"index-url":"sparse+https://o.example/","name":"other"},"args":[]}"#;
    let login = r#"{"v":1,"kind":"login","registry":{"index-url":"sparse+https://r.example/","name":"mine"},"args":[]}"#;
    let out = f.s.kh_input(
        &["cargo-credential", "--cargo-plugin"],
        &format!("{get}\n{other}\n{login}\n"),
    );
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0], serde_json::json!({"v":[1]}));
    assert_eq!(lines[1]["Ok"]["kind"], "get");
    assert_eq!(lines[1]["Ok"]["cache"], "expires");
    assert!(lines[1]["Ok"]["expiration"].is_i64());
    assert!(
        f.server
            .introspect(lines[1]["Ok"]["token"].as_str().unwrap())
    );
    assert_eq!(lines[2]["Err"]["kind"], "url-not-supported");
    assert_eq!(lines[3]["Err"]["kind"], "operation-not-supported");
    assert!(hand_outs(&f.s, "cargo").len() == 1);
    f.s.kh_ok(&["setup", "cargo", "--registry", "mine", "--remove"]);
    assert!(!dir.join("home/.cargo/config.toml").exists());

    // Disconnecting takes the connection's setups out with it, restoring each config.
    f.s.kh_ok(&["setup", "cargo", &id, "--registry", "mine"]);
    let report: serde_json::Value =
        serde_json::from_str(&f.s.kh_ok(&["disconnect", &id, "--keep-remote", "--json"])).unwrap();
    assert_eq!(
        report["tools_removed"],
        serde_json::json!(["cargo mine"]),
        "{report}"
    );
    assert!(!dir.join("home/.cargo/config.toml").exists());
    assert_eq!(f.s.kh_ok(&["setup", "list", "--json"]).trim(), "[]");
}

#[test]
fn bad_input_to_every_helper_is_refused_in_its_protocol_and_changes_nothing() {
    let f = Flow::new();
    let _id = f.connect("alice");
    let before = dir_digest(&f.s.home());
    let huge = "a".repeat(2 * 1024 * 1024);
    let cases: Vec<(Vec<&str>, String, i32, &str)> = vec![
        (
            vec!["git-credential", "get"],
            "garbage\n".into(),
            2,
            "without '='",
        ),
        (
            vec!["git-credential", "get"],
            format!("host={huge}\n"),
            2,
            "longer than",
        ),
        (
            vec!["git-credential", "erase"],
            "host=a\u{0}b\n".into(),
            2,
            "NUL",
        ),
        (
            vec!["git-credential", "get"],
            "protocol=https\nhost=not a host\n\n".into(),
            2,
            "not a host",
        ),
        (
            vec!["terraform-credentials", "get", "bad host!"],
            String::new(),
            2,
            "not a host",
        ),
        (
            vec!["terraform-credentials", "bogus", "h"],
            String::new(),
            2,
            "unknown verb",
        ),
        (
            vec!["kube", "credential", "nosuch"],
            String::new(),
            2,
            "no connection",
        ),
        (
            vec!["aws", "credential-process", "testas"],
            String::new(),
            2,
            "holds no AWS",
        ),
        (
            vec!["cargo-credential", "--cargo-plugin"],
            "not json\n".into(),
            2,
            "",
        ),
        (vec!["cargo-credential"], String::new(), 2, "--cargo-plugin"),
    ];
    for (args, input, code, needle) in cases {
        let out = f.s.kh_input(&args, &input);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        if args[0] != "cargo-credential" {
            assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
        }
    }
    // Empty stdin and unknown verbs: git asks nothing of us; store changes nothing.
    for (verb, input) in [
        ("get", ""),
        ("store", "protocol=https\nhost=x\npassword=p\n"),
        ("frob", ""),
    ] {
        let out = f.s.kh_input(&["git-credential", verb], input);
        assert!(out.status.success(), "{verb}: {out:?}");
        assert!(out.stdout.is_empty());
    }
    let mut env = f.s.command(keyhaven_bin());
    env.env("KUBERNETES_EXEC_INFO", "{not json")
        .args(["kube", "credential", "testas"]);
    let out = crate::support::output_within(&mut env, 60);
    assert_fails(&out, 2, "KUBERNETES_EXEC_INFO");
    assert_eq!(
        dir_digest(&f.s.home()),
        before,
        "bad input changed the vault"
    );
}

#[test]
fn helpers_ride_the_agent_and_say_locked_at_once_for_a_locked_passphrase_vault() {
    let f = Flow::new();
    let id = f.connect("alice");
    f.s.enable_agent();
    f.s.kh_ok(&["unlock"]);
    f.s.wait_agent("unlocked", |st| st["locked"] == false);
    let mut c = f.s.command(keyhaven_bin());
    c.env("KUBERNETES_EXEC_INFO", "")
        .args(["kube", "credential", &id]);
    let out = crate::support::output_within(&mut c, 60);
    assert!(out.status.success(), "{out:?}");
    let by_agent = hand_outs(&f.s, "kubectl");
    assert_eq!(by_agent.len(), 1);
    assert_eq!(by_agent[0]["actor"], "agent", "{by_agent:?}");
    let out = f.s.kh_input(
        &["git-credential", "get"],
        "protocol=https\nhost=unknown.example\n\n",
    );
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    // git through the agent: get, erase (the agent marks the token stale and forgets what it
    // remembered), get again: exactly one refresh, a new token.
    f.s.kh_ok(&["setup", "git", &id, "--host", "127.0.0.1:9"]);
    let ask = "protocol=http\nhost=127.0.0.1:9\n\n";
    let password = |out: &std::process::Output| -> String {
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("password=").map(str::to_string))
            .expect("a password line")
    };
    let first = password(&f.s.kh_input(&["git-credential", "get"], ask));
    assert_eq!(
        password(&f.s.kh_input(&["git-credential", "get"], ask)),
        first
    );
    let r0 = refreshes(&f);
    let erase = format!("protocol=http\nhost=127.0.0.1:9\nusername=oauth2\npassword={first}\n\n");
    assert!(
        f.s.kh_input(&["git-credential", "erase"], &erase)
            .status
            .success()
    );
    let second = password(&f.s.kh_input(&["git-credential", "get"], ask));
    assert_ne!(second, first);
    assert_eq!(refreshes(&f) - r0, 1);
    assert!(
        f.s.kh_input(&["git-credential", "erase"], &erase)
            .status
            .success()
    );
    assert_eq!(
        password(&f.s.kh_input(&["git-credential", "get"], ask)),
        second
    );
    assert_eq!(
        refreshes(&f) - r0,
        1,
        "an erase of the old token changes nothing"
    );
    let git = hand_outs(&f.s, "git");
    assert!(
        git.len() >= 4 && git.iter().all(|e| e["actor"] == "agent"),
        "{git:?}"
    );
    f.s.kh_ok(&["agent", "status"]);
    f.s.kh_ok(&["lock"]);

    // A passphrase vault nobody unlocked: the helper says so at once, never prompts.
    let s = Session::bare();
    let pass = s.tmp.path().join("pass");
    std::fs::write(&pass, "a long passphrase").unwrap();
    s.kh_ok(&[
        "init",
        "--passphrase",
        "--passphrase-file",
        pass.to_str().unwrap(),
    ]);
    let started = std::time::Instant::now();
    let out = s.kh_input(
        &["git-credential", "get"],
        "protocol=https\nhost=github.com\n\n",
    );
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keyhaven unlock"),
        "{out:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
