//! Connecting by URL over a real passphrase vault in a temporary directory. The discovery and
//! the registration are core's (`by_url`, tested against the real OAuth server by the CLI's
//! tests); what is tested here is the shell around them: a URL Keyhaven may not fetch is refused
//! before any request, nothing is stored before the person confirmed (SEC-43), a server that
//! cannot register Keyhaven is explained without a question, and the question itself. The
//! servers are a small fake on a loopback port (`Fake`), so no test leaves this machine; the
//! browser sign-in that follows is `connect_start`'s, which needs a window.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::test_support::{locked_state, unlocked_state};

/// A resource server and its authorization server on one loopback port, answering as RFC 9728
/// (a 401 naming its metadata), RFC 8414 and, when `registration`, RFC 7591 say.
struct Fake {
    base: String,
    /// Every request seen, `METHOD /path`.
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    /// Registrations answered.
    registered: Arc<AtomicUsize>,
}

impl Fake {
    fn start(registration: bool) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let registered = Arc::new(AtomicUsize::new(0));
        let (b, s, r) = (base.clone(), seen.clone(), registered.clone());
        // Serves until the test process ends (it only ever waits on this port).
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut length = 0;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let mut parts = line.split_whitespace();
                let request = format!(
                    "{} {}",
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or("")
                );
                s.lock().unwrap().push(request.clone());
                let (status, extra, json) = answer(&b, &request, registration, &r);
                let json = json.to_string();
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n{extra}\r\n{json}",
                    json.len()
                );
            }
        });
        Fake {
            base,
            seen,
            registered,
        }
    }

    fn resource(&self) -> String {
        format!("{}/mcp", self.base)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// The fake's answer to `request`: status line, extra headers, body.
fn answer(
    base: &str,
    request: &str,
    registration: bool,
    registered: &AtomicUsize,
) -> (&'static str, String, serde_json::Value) {
    match request {
        "GET /mcp" => (
            "401 Unauthorized",
            format!(
                "WWW-Authenticate: Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource/mcp\", scope=\"notes:read notes:write\"\r\n"
            ),
            serde_json::json!({"error": "invalid_token"}),
        ),
        "GET /.well-known/oauth-protected-resource/mcp" => (
            "200 OK",
            String::new(),
            serde_json::json!({"resource": format!("{base}/mcp"), "authorization_servers": [base]}),
        ),
        "GET /.well-known/oauth-authorization-server" => {
            let mut meta = serde_json::json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "code_challenge_methods_supported": ["S256"],
            });
            if registration {
                meta["registration_endpoint"] = format!("{base}/register").into();
            }
            ("200 OK", String::new(), meta)
        }
        "POST /register" if registration => {
            registered.fetch_add(1, Ordering::SeqCst);
            (
                "201 Created",
                String::new(),
                serde_json::json!({"client_id": "kh-desktop-test"}),
            )
        }
        _ => (
            "404 Not Found",
            String::new(),
            serde_json::json!({"error": "not_found"}),
        ),
    }
}

/// What `prepare_url` may store: custom providers, registrations, their audit entries.
fn stored(state: &AppState) -> (Vec<String>, Vec<String>) {
    state
        .with_vault(|v| {
            let custom = v
                .list_providers()?
                .into_iter()
                .filter(|p| p.custom)
                .map(|p| p.id)
                .collect();
            let actions = v
                .audit_events(None)?
                .into_iter()
                .map(|e| e.action)
                .filter(|a| a.starts_with("client.") || a.starts_with("provider."))
                .collect();
            Ok((custom, actions))
        })
        .unwrap()
}

fn never_asked(q: &str) -> Result<(), CommandError> {
    panic!("nothing to ask about, yet asked: {q}")
}

#[test]
fn a_url_keyhaven_may_not_fetch_is_refused_before_any_request_and_nothing_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let state = unlocked_state(&tmp);
    for (url, says) in [
        ("not a url", "is not a URL"),
        ("", "is not a URL"),
        (
            "http://mcp.example.com/mcp",
            "only https URLs (or http on this machine) are used, not http",
        ),
        ("ftp://mcp.example.com/", "not ftp"),
        ("https://alice@mcp.example.com/mcp", "no user name"),
        ("https://mcp.example.com/mcp#x", "without a #fragment"),
    ] {
        for e in [
            preview_url(&state, url).unwrap_err(),
            prepare_url(&state, url, &[], never_asked).unwrap_err(),
        ] {
            assert_eq!(e.code, "bad_input", "{url}: {e}");
            assert!(e.message.contains(says), "{url}: {e}");
        }
    }
    assert_eq!(stored(&state), (vec![], vec![]));
}

#[test]
fn a_locked_vault_is_said_before_any_request() {
    let tmp = tempfile::tempdir().unwrap();
    let state = locked_state(&tmp);
    let fake = Fake::start(true);
    let e = preview_url(&state, &fake.resource()).unwrap_err();
    assert_eq!(e.code, "vault_locked", "{e}");
    let e = prepare_url(&state, &fake.resource(), &[], never_asked).unwrap_err();
    assert_eq!(e.code, "vault_locked", "{e}");
    assert!(fake.seen().is_empty(), "{:?}", fake.seen());
}

#[test]
fn an_unreachable_resource_is_said_and_nothing_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let state = unlocked_state(&tmp);
    // A port nobody listens on any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let e = preview_url(&state, &url).unwrap_err();
    assert_ne!(
        e.code, "bad_input",
        "a network failure, not the person's input: {e}"
    );
    assert!(e.message.contains(&url), "{e}");
    let e = prepare_url(&state, &url, &[], never_asked).unwrap_err();
    assert!(e.message.contains(&url), "{e}");
    assert_eq!(stored(&state), (vec![], vec![]));
}

#[test]
fn the_preview_says_who_guards_the_url_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let state = unlocked_state(&tmp);
    let fake = Fake::start(true);
    let p = preview_url(&state, &format!("  {}  ", fake.resource())).unwrap();
    let port = fake.base.rsplit(':').next().unwrap();
    assert_eq!(
        p,
        Preview {
            resource: fake.resource(),
            issuer: fake.base.clone(),
            scopes: vec!["notes:read".into(), "notes:write".into()],
            provider_id: format!("127-0-0-1-{port}-mcp"),
            registered: false,
            can_register: true,
        }
    );
    assert_eq!(stored(&state), (vec![], vec![]));
    assert_eq!(fake.registered.load(Ordering::SeqCst), 0);
    // The JSON the UI reads.
    let json = serde_json::to_value(&p).unwrap();
    let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "can_register",
            "issuer",
            "provider_id",
            "registered",
            "resource",
            "scopes"
        ]
    );
}

/// SEC-43: defining a provider and registering Keyhaven at a server is the person's decision,
/// asked natively; declined, nothing is registered or stored. Confirmed, core registers and
/// defines the provider the sign-in then uses, and a second time reuses the registration.
#[test]
fn nothing_is_registered_or_stored_before_the_person_confirms() {
    let tmp = tempfile::tempdir().unwrap();
    let state = unlocked_state(&tmp);
    let fake = Fake::start(true);
    let mut asked = String::new();
    let e = prepare_url(&state, &fake.resource(), &[], |q| {
        asked = q.to_string();
        Err(crate::dialogs::cancelled("nothing was connected"))
    })
    .unwrap_err();
    assert_eq!(e.code, "cancelled");
    assert!(
        asked.starts_with(&format!(
            "Connect “{}” and sign in at “{}”?\n\nKeyhaven registers itself there",
            fake.resource(),
            fake.base
        )),
        "{asked}"
    );
    assert_eq!(fake.registered.load(Ordering::SeqCst), 0);
    assert_eq!(stored(&state), (vec![], vec![]));

    let id = prepare_url(&state, &fake.resource(), &[], |_| Ok(())).unwrap();
    assert_eq!(fake.registered.load(Ordering::SeqCst), 1);
    let (custom, actions) = stored(&state);
    assert_eq!(custom, std::slice::from_ref(&id));
    assert!(
        actions.contains(&"client.registered".to_string()),
        "{actions:?}"
    );
    let info = state.with_vault(|v| v.provider_info(&id)).unwrap();
    assert!(
        info.configured,
        "the registration's client id is the provider's app"
    );

    // Again: the question says the registration is reused, and nothing registers again.
    let again = preview_url(&state, &fake.resource()).unwrap();
    assert!(again.registered);
    let mut asked = String::new();
    let same = prepare_url(&state, &fake.resource(), &[], |q| {
        asked = q.to_string();
        Ok(())
    })
    .unwrap();
    assert_eq!(same, id);
    assert!(
        asked.contains("Keyhaven reuses the registration it holds there.")
            && !asked.contains("already defined"),
        "{asked}"
    );
    assert_eq!(fake.registered.load(Ordering::SeqCst), 1);
}

/// A server without RFC 7591 and no registration kept: core's refusal, which names the way out,
/// with no question first and nothing stored.
#[test]
fn a_server_that_cannot_register_keyhaven_is_explained_without_a_question() {
    let tmp = tempfile::tempdir().unwrap();
    let state = unlocked_state(&tmp);
    let fake = Fake::start(false);
    let p = preview_url(&state, &fake.resource()).unwrap();
    assert!(!p.can_register && !p.registered, "{p:?}");
    let e = prepare_url(&state, &fake.resource(), &[], never_asked).unwrap_err();
    assert_eq!(e.code, "bad_input", "{e}");
    assert!(
        e.message.contains("offers no dynamic client registration")
            && e.message.contains(&format!(
                "keyhaven providers add --id ID --issuer {} --client-id CLIENT_ID",
                fake.base
            )),
        "{e}"
    );
    assert_eq!(stored(&state), (vec![], vec![]));
    assert!(
        !fake.seen().iter().any(|r| r.starts_with("POST")),
        "{:?}",
        fake.seen()
    );
}

#[test]
fn the_question_names_resource_server_provider_scopes_and_a_redefinition() {
    let p = Preview {
        resource: "https://mcp.example.com/mcp".into(),
        issuer: "https://auth.example.com".into(),
        scopes: vec!["read".into(), "write".into()],
        provider_id: "mcp-example-com-mcp".into(),
        registered: false,
        can_register: true,
    };
    let q = connect_url_question(&p, None);
    assert_eq!(
        q,
        "Connect “https://mcp.example.com/mcp” and sign in at “https://auth.example.com”?\n\n\
         Keyhaven registers itself there as an app (RFC 7591) and keeps the registration for \
         every resource that server guards. The provider “mcp-example-com-mcp” is defined for \
         it, and its tokens are for that resource only. The sign-in asks for “read”, “write”."
    );
    let q = connect_url_question(
        &Preview {
            registered: true,
            scopes: vec![],
            ..p.clone()
        },
        Some(
            "provider mcp-example-com-mcp is already defined (server https://old.example); \
             redefining it points new sign-ins at https://auth.example.com",
        ),
    );
    assert!(
        q.contains("Keyhaven reuses the registration it holds there."),
        "{q}"
    );
    assert!(!q.contains("asks for"), "{q}");
    assert!(
        q.ends_with(
            "\n\nProvider mcp-example-com-mcp is already defined (server https://old.example); \
             redefining it points new sign-ins at https://auth.example.com."
        ),
        "{q}"
    );
    // What a server says cannot add lines to the dialog.
    let q = connect_url_question(
        &Preview {
            scopes: vec!["a\n\nConnect anyway".into()],
            ..p
        },
        None,
    );
    assert!(q.contains("“a\u{fffd}\u{fffd}Connect anyway”"), "{q}");
}
