use super::*;

fn q(tool: &str, host: &str) -> ToolQuery {
    ToolQuery {
        tool: tool.into(),
        host: Some(host.into()),
        protocol: Some("https".into()),
        ..Default::default()
    }
}

#[test]
fn hosts_are_checked_and_normalized() {
    assert!(is_host("github.com"));
    assert!(is_host("127.0.0.1:8080"));
    assert!(!is_host("github.com/path"));
    assert!(!is_host("user@github.com"));
    assert!(!is_host("-x.com"));
    assert!(!is_host("x.com:"));
    assert!(!is_host(""));
    assert_eq!(normalize_host("GitHub.com").unwrap(), "github.com");
    assert_eq!(normalize_host("https://ghcr.io/v2/").unwrap(), "ghcr.io");
    assert_eq!(
        normalize_host("https://index.docker.io/v1/").unwrap(),
        "index.docker.io"
    );
    assert_eq!(
        normalize_host("http://127.0.0.1:5000").unwrap(),
        "127.0.0.1:5000"
    );
    assert!(normalize_host("not a host").is_err());
    assert!(is_loopback("127.0.0.1:9"));
    assert!(is_loopback("localhost"));
    assert!(!is_loopback("example.com"));
}

#[test]
fn the_catalog_maps_a_host_to_its_connection_and_username() {
    let (_tmp, mut vault) = crate::vault::test_vault();
    let id = crate::vault::test_github_connection(&mut vault, "octo", None, "tok");
    let r = resolve(&vault, &q("git", "github.com")).unwrap();
    assert_eq!(r.connection.id.as_str(), id);
    assert_eq!(r.username, "x-access-token");
    // Unknown host: not ours, so git asks its next helper.
    let e = resolve(&vault, &q("git", "gitlab.com")).unwrap_err();
    assert_eq!(e.code(), "no_credential_for_tool");
    // Plain http to a remote host is refused; to loopback it is fine (when bound).
    let mut plain = q("git", "github.com");
    plain.protocol = Some("http".into());
    assert_eq!(
        resolve(&vault, &plain).unwrap_err().code(),
        "insecure_transport"
    );
    let mut ssh = q("git", "github.com");
    ssh.protocol = Some("ssh".into());
    assert_eq!(
        resolve(&vault, &ssh).unwrap_err().code(),
        "no_credential_for_tool"
    );
    // The hand-out carries the username and is audited with the tool.
    let reply = answer_now(&mut vault, &q("git", "github.com")).unwrap();
    assert_eq!(reply.token.as_str(), "tok");
    assert_eq!(reply.username.as_deref(), Some("x-access-token"));
}

#[test]
fn two_connections_for_one_host_are_told_apart_by_username_or_default() {
    let (_tmp, mut vault) = crate::vault::test_vault();
    let a = crate::vault::test_github_connection(&mut vault, "alice", None, "ta");
    let b = crate::vault::test_github_connection(&mut vault, "bob", None, "tb");
    let mut by_user = q("git", "github.com");
    by_user.username = Some("bob".into());
    assert_eq!(resolve(&vault, &by_user).unwrap().connection.id.as_str(), b);
    // Neither is the default: ambiguous, said, nothing handed out.
    let e = resolve(&vault, &q("git", "github.com")).unwrap_err();
    assert!(e.to_string().contains("several connections"), "{e}");
    vault.set_default_connection(&a, true).unwrap();
    let r = resolve(&vault, &q("git", "github.com"));
    assert_eq!(r.unwrap().connection.id.as_str(), a);
}

#[test]
fn erase_marks_the_stored_token_stale_once_and_never_deletes_it() {
    let (_tmp, mut vault) = crate::vault::test_vault();
    let id = crate::vault::test_github_connection(&mut vault, "octo", None, "tok");
    // Not renewable (no refresh token): nothing changes.
    assert_eq!(
        erase(&mut vault, &q("git", "github.com"), "tok").unwrap(),
        Erased::NotRenewable
    );
    rows::upsert_secret(
        vault.conn(),
        &id,
        "refresh_token",
        &SecretBytes::from("rt".to_string()),
        now(),
    )
    .unwrap();
    assert_eq!(
        erase(&mut vault, &q("git", "github.com"), "other").unwrap(),
        Erased::AlreadyReplaced
    );
    assert_eq!(
        erase(&mut vault, &q("git", "github.com"), "tok").unwrap(),
        Erased::MarkedStale
    );
    let c = vault.find_connection(&id).unwrap();
    assert!(c.expires_at.is_some());
    assert_eq!(
        rows::read_field(vault.conn(), &id, "refresh_token")
            .unwrap()
            .unwrap()
            .expose_secret(),
        b"rt"
    );
}
