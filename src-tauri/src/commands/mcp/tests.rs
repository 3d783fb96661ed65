//! The MCP box over a real passphrase vault: an MCP server's connection (a provider whose
//! tokens are bound to a resource, as `keyhaven connect URL` defines it, here with explicit
//! endpoints so no request is made) gets every client's snippet; any other connection gets no
//! box, and an unknown one is said.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keyhaven_core::catalog::AuthMode;
use keyhaven_core::connections::{FieldValue, NewConnection};
use keyhaven_core::credentials::{self, AddOptions};
use keyhaven_core::providers::CustomProvider;
use keyhaven_core::secret::SecretBytes;

use super::*;
use crate::test_support::unlocked_state;

const RESOURCE: &str = "https://mcp.example.com/mcp";

/// An MCP server's connection and an API-key one; their ids.
fn connections(state: &AppState) -> (String, String) {
    state
        .with_vault(|v| {
            v.add_custom_provider(CustomProvider {
                id: "mcp-example-com-mcp".into(),
                authorization_url: Some("https://auth.example.com/authorize".into()),
                token_url: Some("https://auth.example.com/token".into()),
                userinfo_url: Some("https://auth.example.com/userinfo".into()),
                client_id: Some("kh-registered".into()),
                resource: Some(RESOURCE.into()),
                ..Default::default()
            })?;
            let mcp = v.save_connection(NewConnection {
                provider_id: "mcp-example-com-mcp".into(),
                account: "alice".into(),
                auth_mode: AuthMode::Oauth2,
                scopes_requested: vec![],
                scopes_granted: vec![],
                token_type: Some("Bearer".into()),
                expires_at: None,
                extra: serde_json::json!({}),
                fields: vec![(
                    "access_token".into(),
                    FieldValue::Secret(SecretBytes::from("not-a-real-token".to_string())),
                )],
                vars: BTreeMap::new(),
                issued_with: Default::default(),
                defaulted: Default::default(),
            })?;
            let values = BTreeMap::from([(
                "token".to_string(),
                SecretBytes::from("not-a-real-token".to_string()),
            )]);
            let opts = AddOptions {
                verify: false,
                vars: BTreeMap::new(),
                scopes: vec![],
                account: Some("bot".into()),
            };
            let api = credentials::add(v, "api-key", values, &opts)?;
            Ok((mcp, api.connection.id.as_str().to_string()))
        })
        .unwrap()
}

fn program() -> keyhaven_core::Result<PathBuf> {
    Ok(PathBuf::from("/usr/bin/keyhaven"))
}

#[test]
fn an_mcp_connection_gets_every_clients_snippet_running_the_proxy() {
    let tmp = tempfile::tempdir().unwrap();
    let state = unlocked_state(&tmp);
    let (mcp, _) = connections(&state);
    let home = Path::new("/home/alice");
    let view = state
        .with_vault(|v| mcp_view(v, &mcp, program, Some(home)))
        .unwrap()
        .expect("an MCP server's connection");
    assert_eq!(view.url, RESOURCE);
    assert_eq!(view.program, "/usr/bin/keyhaven");
    let order: Vec<McpClient> = view.clients.iter().map(|c| c.client).collect();
    assert_eq!(order, McpClient::ALL);
    for c in &view.clients {
        assert_eq!(
            c.snippet,
            c.client.snippet(Path::new("/usr/bin/keyhaven"), &mcp, &mcp),
            "core's snippet, named after the connection"
        );
        assert!(
            c.snippet.contains("mcp-proxy") && c.snippet.contains(&mcp),
            "{}",
            c.snippet
        );
    }
    let cursor = view
        .clients
        .iter()
        .find(|c| c.client == McpClient::Cursor)
        .unwrap();
    assert_eq!(
        cursor.config.as_deref(),
        Some("/home/alice/.cursor/mcp.json")
    );
    let v: serde_json::Value = serde_json::from_str(&cursor.snippet).unwrap();
    assert_eq!(
        v["mcpServers"][&mcp]["args"],
        serde_json::json!(["mcp-proxy", mcp])
    );

    // The JSON the UI reads: clients by their names, no secret.
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["clients"][0]["client"], "claude-desktop");
    assert!(!json.to_string().contains("not-a-real-token"));
    // Without a home directory the files are not named; the snippets are the same.
    let bare = state
        .with_vault(|v| mcp_view(v, &mcp, program, None))
        .unwrap()
        .unwrap();
    assert!(bare.clients.iter().all(|c| c.config.is_none()));
}

#[test]
fn another_connection_has_no_mcp_box_and_an_unknown_one_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let state = unlocked_state(&tmp);
    let (_, api) = connections(&state);
    let never =
        || -> keyhaven_core::Result<PathBuf> { panic!("no program for a non-MCP connection") };
    let view = state
        .with_vault(|v| mcp_view(v, &api, never, None))
        .unwrap();
    assert_eq!(view, None);
    let e = CommandError::from(
        state
            .with_vault(|v| mcp_view(v, "nope", program, None))
            .unwrap_err(),
    );
    assert_eq!(e.code, "bad_input", "{e}");
    assert!(e.message.contains("no connection \"nope\""), "{e}");
}
