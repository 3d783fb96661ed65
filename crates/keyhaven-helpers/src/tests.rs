use super::*;

fn reply(token: &str, expires: Option<&str>) -> TokenReply {
    TokenReply {
        token: Zeroizing::new(token.into()),
        token_type: Some("Bearer".into()),
        expires_at: expires.map(str::to_string),
        scopes: vec![],
        id: "c_1".into(),
        provider: "github".into(),
        account: "octo".into(),
        username: Some("x-access-token".into()),
        fields: Default::default(),
    }
}

fn args(line: &[&str]) -> Vec<OsString> {
    line.iter().map(OsString::from).collect()
}

#[test]
fn rfc3339_times_become_unix_seconds() {
    assert_eq!(unix_of_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(unix_of_rfc3339("2026-12-02T05:47:29Z"), Some(1_796_190_449));
    assert_eq!(
        unix_of_rfc3339("2026-12-02T06:47:29+01:00"),
        Some(1_796_190_449)
    );
    assert_eq!(
        unix_of_rfc3339("2026-12-02T05:47:29.123Z"),
        Some(1_796_190_449)
    );
    for bad in [
        "",
        "2026-12-02",
        "2026-13-02T00:00:00Z",
        "2026-12-02T05:47:29",
        "x".repeat(30).as_str(),
    ] {
        assert_eq!(unix_of_rfc3339(bad), None, "{bad}");
    }
}

#[test]
fn command_lines_name_their_helper() {
    assert_eq!(
        Helper::from_args(&args(&["keyhaven", "git-credential", "get"])),
        Some(Helper::Git(git::Verb::Get))
    );
    assert_eq!(
        Helper::from_args(&args(&["/usr/bin/docker-credential-keyhaven", "get"])),
        Some(Helper::Docker(docker::Verb::Get))
    );
    assert_eq!(
        Helper::from_args(&args(&["keyhaven", "kube", "credential", "k8s"])),
        Some(Helper::Kube { conn: "k8s".into() })
    );
    assert_eq!(
        Helper::from_args(&args(&[
            "terraform-credentials-keyhaven",
            "get",
            "app.terraform.io"
        ])),
        Some(Helper::Terraform {
            verb: terraform::Verb::Get,
            host: "app.terraform.io".into()
        })
    );
    for other in [
        &["keyhaven", "git-credential"][..],
        &["keyhaven", "git-credential", "--help"],
        &["keyhaven", "aws", "credential-process", "--json"],
        &["keyhaven", "docker-credential", "nope"],
        &["keyhaven", "token", "x"],
    ] {
        assert_eq!(Helper::from_args(&args(other)), None, "{other:?}");
    }
}

#[test]
fn git_requests_parse_and_answers_are_lines() {
    let r = git::parse(b"protocol=https\nhost=github.com\nusername=me\ncapability[]=authtype\nwwwauth[]=Basic\n\nignored=after blank\n").unwrap();
    assert_eq!(r.protocol.as_deref(), Some("https"));
    assert_eq!(r.host.as_deref(), Some("github.com"));
    assert_eq!(r.username.as_deref(), Some("me"));
    assert!(git::parse(b"garbage\n").is_err());
    assert!(git::parse(b"host=a\0b\n").is_err());
    assert!(git::parse(&[0xff, 0xfe]).is_err());
    let out = git::answer(&reply("tok", Some("1970-01-01T00:01:00Z"))).unwrap();
    assert_eq!(
        out.as_str(),
        "username=x-access-token\npassword=tok\npassword_expiry_utc=60\n"
    );
    assert!(git::answer(&reply("to\nk", None)).is_err());
    // store and unknown verbs need nothing; erase without a password does nothing.
    assert!(matches!(
        Helper::Git(git::Verb::Store).query(b"host=x\n"),
        Ok(Need::Done)
    ));
    assert!(matches!(
        Helper::Git(git::Verb::Erase).query(b"protocol=https\nhost=x\n"),
        Ok(Need::Done)
    ));
    assert!(matches!(
        Helper::Git(git::Verb::Erase).query(b"protocol=https\nhost=x\npassword=p\n"),
        Ok(Need::Erase(_, _))
    ));
    let huge = vec![b'a'; MAX_INPUT + 1];
    assert_eq!(
        Helper::Git(git::Verb::Get).query(&huge).unwrap_err().exit,
        2
    );
}

#[test]
fn kube_answers_the_api_version_it_was_asked_for() {
    assert_eq!(
        kube::api_version(None).unwrap(),
        "client.authentication.k8s.io/v1"
    );
    let info = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}"#;
    assert_eq!(
        kube::api_version(Some(info)).unwrap(),
        "client.authentication.k8s.io/v1beta1"
    );
    assert!(kube::api_version(Some("{")).is_err());
    assert!(kube::api_version(Some(r#"{"apiVersion":"v9"}"#)).is_err());
    let out = kube::answer(
        &reply("tok", Some("2026-12-02T05:47:29Z")),
        "client.authentication.k8s.io/v1",
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "ExecCredential");
    assert_eq!(v["status"]["token"], "tok");
    assert_eq!(v["status"]["expirationTimestamp"], "2026-12-02T05:47:29Z");
}

#[test]
fn aws_docker_terraform_and_cargo_answers() {
    let mut r = reply("secret", None);
    r.fields
        .insert("access_key_id".into(), Zeroizing::new("AKIAEXAMPLE".into()));
    let v: serde_json::Value = serde_json::from_str(&aws::answer(&r).unwrap()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"Version":1,"AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"secret"})
    );
    assert!(aws::answer(&reply("s", None)).is_err());

    let v: serde_json::Value =
        serde_json::from_str(&docker::answer(&reply("t", None), "ghcr.io").unwrap()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"ServerURL":"ghcr.io","Username":"x-access-token","Secret":"t"})
    );
    assert!(Helper::Docker(docker::Verb::Get).query(b"").is_err());
    assert!(
        Helper::Docker(docker::Verb::Store)
            .query(b"not json")
            .is_err()
    );

    let v: serde_json::Value =
        serde_json::from_str(&terraform::answer(&reply("t", None)).unwrap()).unwrap();
    assert_eq!(v, serde_json::json!({"token":"t"}));
    let store = Helper::Terraform {
        verb: terraform::Verb::Store,
        host: "h".into(),
    };
    assert!(store.query(b"{\"token\":\"x\"}").is_err());

    let v: serde_json::Value =
        serde_json::from_str(&cargo::answer(&reply("t", Some("1970-01-01T00:00:10Z"))).unwrap())
            .unwrap();
    assert_eq!(v["Ok"]["cache"], "expires");
    assert_eq!(v["Ok"]["expiration"], 10);
    match cargo::parse(br#"{"v":1,"kind":"get","operation":"read","registry":{"index-url":"sparse+https://r.example/","name":"mine"},"args":[]}"#).unwrap() {
        cargo::Action::Get(q) => assert_eq!(q.host.as_deref(), Some("mine")),
        other => panic!("{other:?}"),
    }
    match cargo::parse(br#"{"v":1,"kind":"login","registry":{"index-url":"x"}}"#).unwrap() {
        cargo::Action::Refuse(line) => assert!(line.contains("operation-not-supported")),
        other => panic!("{other:?}"),
    }
    assert!(cargo::parse(b"nope").is_err());
}
