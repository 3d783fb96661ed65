//! The Tools commands over a real passphrase vault in a temporary directory. Setting a tool up
//! for real writes the person's own configuration files (found through `$HOME` and the tools'
//! variables, which a threaded test must not change), so these tests stop before core writes
//! anything: the views, the question, a declined confirmation and the refusals. The writing
//! itself is core's (`tools::setup`), tested there and by the CLI's tests.

use std::collections::BTreeMap;

use keyhaven_core::credentials::{self, AddOptions};
use keyhaven_core::secret::SecretBytes;
use keyhaven_core::tools::{self, Tool, ToolQuery};
use keyhaven_core::vault::HandOutContext;
use keyhaven_ipc::peer::Requester;

use super::*;

/// An open passphrase vault with an AWS connection (not verified: no network) and a generic
/// API-key one; their ids.
fn vault_with_connections(tmp: &tempfile::TempDir) -> (AppState, String, String) {
    let state = crate::test_support::unlocked_state(tmp);
    let add = |provider: &str, values: &[(&str, &str)], account: &str| {
        let values: BTreeMap<String, SecretBytes> = values
            .iter()
            .map(|(k, v)| (k.to_string(), SecretBytes::from(v.to_string())))
            .collect();
        let opts = AddOptions {
            verify: false,
            vars: BTreeMap::new(),
            scopes: vec![],
            account: Some(account.into()),
        };
        state
            .with_vault(|v| credentials::add(v, provider, values, &opts))
            .unwrap()
            .connection
            .id
            .as_str()
            .to_string()
    };
    let aws = add(
        "aws",
        &[
            ("access_key_id", "AKIAIOSFODNN7EXAMPLE"),
            (
                "secret_access_key",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
        ],
        "deploy",
    );
    let api = add("api-key", &[("token", "not-a-real-token")], "bot");
    (state, aws, api)
}

/// One hand-out of `id`'s credentials to `tool`, recorded as the agent records it.
fn hand_out(state: &AppState, id: &str, tool: &str, program: &str) {
    state
        .with_vault(|v| {
            v.set_hand_out_context(HandOutContext {
                requester: Requester {
                    pid: Some(4242),
                    program: Some(program.into()),
                    parent_program: Some("/usr/bin/bash".into()),
                },
                tool: Some(tool.into()),
            });
            tools::answer_now(
                v,
                &ToolQuery {
                    tool: tool.into(),
                    conn: Some(id.into()),
                    ..Default::default()
                },
            )
            .map(drop)
        })
        .unwrap();
}

#[test]
fn every_tool_is_shown_with_what_its_setup_asks_and_its_last_hand_outs() {
    let tmp = tempfile::tempdir().unwrap();
    let (state, aws, api) = vault_with_connections(&tmp);
    for _ in 0..(LAST_HAND_OUTS + 2) {
        hand_out(&state, &aws, "aws", "/usr/local/bin/keyhaven");
    }
    hand_out(&state, &aws, "kubectl", "/usr/bin/kubectl");

    let views = state.with_vault(|v| tool_views(v, &aws)).unwrap();
    let order: Vec<Tool> = views.iter().map(|v| v.tool).collect();
    assert_eq!(order, Tool::ALL);
    let view = |tool: Tool| views.iter().find(|v| v.tool == tool).unwrap();

    let a = view(Tool::Aws);
    assert_eq!(a.unavailable, None, "an aws connection holds an access key");
    assert_eq!(a.last_hand_outs.len(), LAST_HAND_OUTS, "only the last few");
    let last = &a.last_hand_outs[0];
    assert_eq!(last.program.as_deref(), Some("/usr/local/bin/keyhaven"));
    assert_eq!(last.parent_program.as_deref(), Some("/usr/bin/bash"));
    assert_eq!(last.pid, Some(4242));
    assert!(last.at.ends_with('Z'), "{}", last.at);
    assert_eq!(
        a.input,
        SetupInput {
            target_noun: "profile".into(),
            target_required: true,
            region: true,
            api_version: false,
        }
    );
    assert_eq!(view(Tool::Kubectl).last_hand_outs.len(), 1);
    assert!(view(Tool::Kubectl).input.api_version);
    assert_eq!(view(Tool::Kubectl).input.target_noun, "context");
    assert!(view(Tool::Git).last_hand_outs.is_empty());
    assert!(
        !view(Tool::Git).input.target_required,
        "git defaults to the catalog's hosts"
    );
    assert_eq!(view(Tool::Cargo).input.target_noun, "registry");
    assert!(
        views
            .iter()
            .all(|v| v.bindings.is_empty() && v.suggested.is_empty())
    );

    // Hand-outs are per connection: none of aws's show on another one; aws is not for it.
    let other = state.with_vault(|v| tool_views(v, &api)).unwrap();
    assert!(other.iter().all(|v| v.last_hand_outs.is_empty()));
    let why = other[1]
        .unavailable
        .as_deref()
        .expect("no AWS key in an API-key connection");
    assert!(why.contains("no AWS access key"), "{why}");

    // The JSON the UI reads: no secret, the tool by its name.
    let json = serde_json::to_string(&views).unwrap();
    assert!(!json.contains("wJalrXUtnFEMI"), "{json}");
    let first = serde_json::to_value(&views[0]).unwrap();
    assert_eq!(first["tool"], "git");
    let mut keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "bindings",
            "input",
            "last_hand_outs",
            "suggested",
            "tool",
            "unavailable"
        ]
    );
}

#[test]
fn an_unknown_connection_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let (state, _, _) = vault_with_connections(&tmp);
    let e = CommandError::from(state.with_vault(|v| tool_views(v, "nope")).unwrap_err());
    assert_eq!(e.code, "bad_input", "{e}");
    assert!(e.message.contains("no connection \"nope\""), "{e}");
}

/// SEC-43: a setup is the person's, confirmed natively with the tool, targets and connection;
/// declined, nothing is written or recorded.
#[test]
fn a_setup_is_asked_first_and_declined_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (state, aws, _) = vault_with_connections(&tmp);
    let never = || -> keyhaven_core::Result<std::path::PathBuf> {
        panic!("nothing is written before the confirmation")
    };
    let mut asked = String::new();
    let e = set_up(
        &state,
        &aws,
        Tool::Aws,
        Some(" work "),
        &ToolOptions {
            region: Some("eu-central-1".into()),
            api_version: None,
        },
        never,
        |q| {
            asked = q.to_string();
            Err(crate::dialogs::cancelled("nothing was set up"))
        },
    )
    .unwrap_err();
    assert_eq!(e.code, "cancelled");
    assert!(
        asked.starts_with(
            "Set up aws to take its credentials from Amazon Web Services “deploy” for the profile “work”?"
        ),
        "{asked}"
    );
    let views = state.with_vault(|v| tool_views(v, &aws)).unwrap();
    assert!(views.iter().all(|v| v.bindings.is_empty()));
    let audit = state.with_vault(|v| v.audit_events(Some(&aws))).unwrap();
    assert!(audit.iter().all(|e| e.action != "tool.set_up"));
}

#[test]
fn a_setup_without_its_target_is_refused_before_asking() {
    let tmp = tempfile::tempdir().unwrap();
    let (state, aws, api) = vault_with_connections(&tmp);
    let not_asked =
        |_: &str| -> std::result::Result<(), CommandError> { panic!("nothing to ask about") };
    let none = ToolOptions::default();
    let program = || Ok(std::path::PathBuf::from("/usr/bin/keyhaven"));
    let e = set_up(
        &state,
        &aws,
        Tool::Docker,
        Some("  "),
        &none,
        program,
        not_asked,
    )
    .unwrap_err();
    assert_eq!(e.code, "bad_input");
    assert!(e.message.contains("give the registry"), "{}", e.message);
    // git without a host takes the catalog's: a generic API key has none.
    let e = set_up(&state, &api, Tool::Git, None, &none, program, not_asked).unwrap_err();
    assert_eq!(e.code, "bad_input");
    assert!(e.message.contains("give the host"), "{}", e.message);
    let e = set_up(&state, "nope", Tool::Git, None, &none, program, not_asked).unwrap_err();
    assert!(e.message.contains("no connection"), "{}", e.message);
}

#[test]
fn removing_what_is_not_set_up_or_an_unknown_tool_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let (state, _, _) = vault_with_connections(&tmp);
    let e = remove(&state, "cargo", "my-registry").unwrap_err();
    assert_eq!(e.code, "bad_input");
    assert!(e.message.contains("is not set up"), "{}", e.message);
    let e = remove(&state, "svn", "x").unwrap_err();
    assert_eq!(e.code, "bad_input");
    assert!(e.message.contains("unknown tool"), "{}", e.message);
}

#[test]
fn the_setup_question_names_tool_targets_and_connection() {
    let conn = crate::test_support::summary("github", "alice");
    let q = setup_question(
        Tool::Git,
        &["github.com".into(), "gist.github.com".into()],
        &conn,
        "GitHub",
    );
    assert!(
        q.starts_with(
            "Set up git to take its credentials from GitHub “alice” for the hosts “github.com”, \
             “gist.github.com”?"
        ),
        "{q}"
    );
    assert!(q.contains("recorded in the audit log"), "{q}");
    // A target from the page cannot add lines to the dialog.
    let q = setup_question(Tool::Kubectl, &["a\nb".into()], &conn, "GitHub");
    assert!(q.contains("“a\u{fffd}b”"), "{q}");
}
