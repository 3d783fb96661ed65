//! `keyhaven setup TOOL` and the desktop's "Tools" buttons: point a tool's own configuration
//! at Keyhaven's helper, idempotently, and take exactly that out again (docs/tools.md).
//!
//! Every change is recorded as a [`Binding`] in the vault, with what `remove` needs to put the
//! file back as it was (the values replaced, whether a section existed). Setting up again what
//! is set up changes nothing and keeps the original undo. Files are written whole through a
//! temporary file and a rename, so a tool never reads a half-written config; a new file is
//! private to the user (0600), an existing one keeps its mode.
//!
//! Which file, per tool (each honours the tool's own override):
//! - git: `git config --global` (the real git: `~/.gitconfig`, `$XDG_CONFIG_HOME/git/config`
//!   or `GIT_CONFIG_GLOBAL`), keys `credential.https://HOST.helper`;
//! - aws: `$AWS_CONFIG_FILE`, else `~/.aws/config`, section `[profile NAME]`;
//! - kubectl: the first file of `$KUBECONFIG`, else `~/.kube/config`;
//! - docker: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (podman and skopeo
//!   read its `credHelpers` too), plus the `docker-credential-keyhaven` link on PATH;
//! - terraform: `$TF_CLI_CONFIG_FILE`, else `~/.terraformrc`, plus the
//!   `terraform-credentials-keyhaven` link in `~/.terraform.d/plugins`;
//! - cargo: `$CARGO_HOME/config.toml`, else `~/.cargo/config.toml`;
//! - mcp: the MCP client's own file (`mcp::McpClient::config_path`), target `CLIENT/NAME`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use serde_json::json;

use super::{Binding, Tool, binding, bindings, delete_binding, normalize_host, save_binding};
use crate::error::{Error, Result};
use crate::vault::Vault;

/// What a setup needs besides the connection and the target.
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// The `keyhaven` program the tool is to run (absolute): see [`locate_program`].
    pub program: PathBuf,
    /// aws: the profile's `region`.
    pub region: Option<String>,
    /// kubectl: the exec plugin's `apiVersion` (`client.authentication.k8s.io/v1` unless a
    /// kubectl older than 1.22 needs `v1beta1`).
    pub api_version: Option<String>,
    /// docker: where to put `docker-credential-keyhaven` (default `~/.local/bin`).
    pub link_dir: Option<PathBuf>,
}

/// What one setup or removal did.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupReport {
    /// The tool.
    pub tool: Tool,
    /// Host, profile, context or registry.
    pub target: String,
    /// The connection.
    pub connection_id: String,
    /// The file changed (or that would have been).
    pub config: String,
    /// Whether anything changed (false: it was already so).
    pub changed: bool,
    /// Things the person should know (a link directory not on PATH, say).
    pub notes: Vec<String>,
}

/// The `keyhaven` program to write into tools' configuration, given the running program: the
/// CLI's front binary `keyhaven` beside it (a build directory, or the desktop app's
/// directory), else `../../bin/keyhaven` from `/usr/lib/keyhaven/keyhaven-main`, else
/// `keyhaven` found on PATH. Absolute, never `~` (AWS forbids it).
pub fn locate_program(current_exe: &Path) -> Result<PathBuf> {
    let dir = current_exe.parent().unwrap_or(Path::new("/"));
    let mut candidates = vec![dir.join("keyhaven"), dir.join("../../bin/keyhaven")];
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("keyhaven")));
    }
    candidates
        .into_iter()
        .filter(|p| p.is_absolute())
        .find_map(|p| {
            let p = std::fs::canonicalize(&p).ok()?;
            p.is_file().then_some(p)
        })
        .ok_or_else(|| {
            Error::BadInput(
                "cannot find the keyhaven program to point the tool at (install Keyhaven, or \
                 put keyhaven on PATH)"
                    .into(),
            )
        })
}

/// The targets `setup git` covers for a connection when no `--host` is given: the hosts its
/// provider's catalog entry names (github.com for GitHub, the instance's host for a
/// self-managed GitLab). Docker likewise with `[tools.docker]`.
pub fn default_targets(vault: &Vault, tool: Tool, conn: &str) -> Result<Vec<String>> {
    let c = vault.find_connection(conn)?;
    let def = vault.provider_def(&c.provider)?;
    let section = match tool {
        Tool::Git => &def.tools.git,
        Tool::Docker => &def.tools.docker,
        _ => return Ok(vec![]),
    };
    let vars = super::connection_vars(vault, c.id.as_str())?;
    Ok(def.tool_hosts(section, &vars))
}

/// Sets `tool` up for `target` with the connection `conn`.
pub fn set_up(
    vault: &mut Vault,
    tool: Tool,
    conn: &str,
    target: &str,
    opts: &SetupOptions,
) -> Result<SetupReport> {
    let c = vault.find_connection(conn)?;
    let id = c.id.as_str().to_string();
    if !opts.program.is_absolute() {
        return Err(Error::BadInput(format!(
            "{} is not an absolute path",
            opts.program.display()
        )));
    }
    let target = check_target(tool, target)?;
    if tool == Tool::Aws {
        let def = vault.provider_def(&c.provider)?;
        if def.tools.aws.is_none() {
            return Err(Error::BadInput(format!(
                "{id} is a {} connection: it holds no AWS access key",
                def.name
            )));
        }
    }
    let existing = binding(vault, tool, &target)?;
    // Set up before: keep what was there before the first setup, not our own lines.
    let prior_undo = existing.as_ref().map(|b| b.undo.clone());
    let program = opts.program.to_string_lossy().into_owned();
    let (config, undo, changed, notes) = match tool {
        Tool::Git => git::set_up(&target, &program, prior_undo)?,
        Tool::Aws => aws::set_up(&target, &program, &id, opts.region.as_deref(), prior_undo)?,
        Tool::Kubectl => kube::set_up(&target, &program, &id, opts, prior_undo)?,
        Tool::Docker => docker::set_up(&target, &opts.program, opts, prior_undo)?,
        Tool::Terraform => terraform::set_up(&opts.program, prior_undo)?,
        Tool::Cargo => cargo::set_up(&target, &program, prior_undo)?,
        Tool::Mcp => {
            // The proxy forwards to an MCP server: refused for any other connection.
            crate::mcp::endpoint(vault, &id)?;
            mcp::set_up(&target, &opts.program, &id, prior_undo)?
        }
    };
    let rebound = existing.as_ref().is_none_or(|b| b.connection_id != id);
    if rebound || changed {
        save_binding(
            vault,
            &Binding {
                tool,
                target: target.clone(),
                connection_id: id.clone(),
                config: Some(config.display().to_string()),
                created_at: String::new(),
                undo,
            },
        )?;
    }
    Ok(SetupReport {
        tool,
        target,
        connection_id: id,
        config: config.display().to_string(),
        changed: changed || rebound,
        notes,
    })
}

/// Takes out what [`set_up`] wrote for `tool` and `target`, restoring what was there before.
pub fn remove(vault: &mut Vault, tool: Tool, target: &str) -> Result<SetupReport> {
    let target = check_target(tool, target)?;
    let Some(b) = binding(vault, tool, &target)? else {
        return Err(Error::BadInput(format!(
            "{} is not set up for {} {target} by Keyhaven (`keyhaven setup --list` shows what is)",
            tool.as_str(),
            tool.target_noun()
        )));
    };
    let others = bindings(vault, None)?
        .into_iter()
        .filter(|o| o.tool == tool && o.target != target)
        .count();
    let (config, notes) = match tool {
        Tool::Git => git::remove(&target, &b.undo)?,
        Tool::Aws => aws::remove(&target, &b.undo)?,
        Tool::Kubectl => kube::remove(&target, &b.undo, &b.connection_id)?,
        Tool::Docker => docker::remove(&target, &b.undo, others == 0)?,
        Tool::Terraform => terraform::remove(&b.undo, others == 0)?,
        Tool::Cargo => cargo::remove(&target, &b.undo)?,
        Tool::Mcp => mcp::remove(&target, &b.undo)?,
    };
    delete_binding(vault, &b)?;
    Ok(SetupReport {
        tool,
        target,
        connection_id: b.connection_id,
        config: config.display().to_string(),
        changed: true,
        notes,
    })
}

fn check_target(tool: Tool, target: &str) -> Result<String> {
    let portable = |what: &str| -> Result<String> {
        let ok = !target.is_empty()
            && target.len() <= 128
            && target
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@:/".contains(&b))
            && !target.starts_with('-');
        if ok {
            Ok(target.to_string())
        } else {
            Err(Error::BadInput(format!(
                "{what} {target:?}: use letters, digits and - _ . @ : /"
            )))
        }
    };
    match tool {
        Tool::Git | Tool::Docker | Tool::Terraform => normalize_host(target),
        Tool::Aws => {
            let ok = !target.is_empty()
                && target
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if ok {
                Ok(target.to_string())
            } else {
                Err(Error::BadInput(format!(
                    "profile {target:?}: use letters, digits, - _ ."
                )))
            }
        }
        Tool::Kubectl => portable("context"),
        Tool::Mcp => {
            mcp::split(target)?;
            Ok(target.to_string())
        }
        Tool::Cargo => {
            let ok = !target.is_empty()
                && target
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if ok {
                Ok(target.to_string())
            } else {
                Err(Error::BadInput(format!(
                    "registry {target:?}: cargo registry names are letters, digits, - and _"
                )))
            }
        }
    }
}

fn home() -> Result<PathBuf> {
    dirs::home_dir().ok_or_else(|| Error::BadInput("no home directory ($HOME is unset)".into()))
}

/// A path from an environment variable, else under the home directory.
fn env_or_home(var: &str, rel: &str) -> Result<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(v) => Ok(PathBuf::from(v)),
        None => Ok(home()?.join(rel)),
    }
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        context: path.display().to_string(),
        source: e,
    }
}

fn read_opt(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path, e)),
    }
}

/// Writes `text` to `path` whole (temporary file, then rename): 0600 when new, else the old
/// file's mode. A symlinked config (dotfile managers) is written through to its target.
fn write_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mode = std::fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_err(dir, e))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io_err(&path, e))?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
        .map_err(|e| io_err(&path, e))?;
    tmp.persist(&path).map_err(|e| io_err(&path, e.error))?;
    Ok(())
}

/// Makes `link` a symlink to `program` (replacing a link of ours, never a file of someone
/// else's). Returns whether it changed anything.
fn install_link(link: &Path, program: &Path) -> Result<bool> {
    if let Ok(current) = std::fs::read_link(link) {
        if current == program {
            return Ok(false);
        }
        if !points_to_keyhaven(&current) {
            return Err(Error::BadInput(format!(
                "{} already exists and is not Keyhaven's; remove it first",
                link.display()
            )));
        }
        std::fs::remove_file(link).map_err(|e| io_err(link, e))?;
    } else if link.exists() {
        return Err(Error::BadInput(format!(
            "{} already exists and is not Keyhaven's link; remove it first",
            link.display()
        )));
    }
    if let Some(dir) = link.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    std::os::unix::fs::symlink(program, link).map_err(|e| io_err(link, e))?;
    Ok(true)
}

fn points_to_keyhaven(target: &Path) -> bool {
    target
        .file_name()
        .is_some_and(|n| n == "keyhaven" || n == "keyhaven-main")
}

/// Removes `link` if it is a link to a Keyhaven program.
fn remove_link(link: &Path) -> Result<bool> {
    match std::fs::read_link(link) {
        Ok(t) if points_to_keyhaven(&t) => {
            std::fs::remove_file(link).map_err(|e| io_err(link, e))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn on_path(dir: &Path) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d == dir))
}

/// A value for a shell-run command line (git runs helpers through the shell): quoted when it
/// holds anything but safe characters.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@=".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

mod git {
    use super::*;

    /// `git config --global ARGS`: stdout, and whether git exited 0.
    fn git(args: &[&str]) -> Result<(String, i32)> {
        let out = Command::new("git")
            .arg("config")
            .arg("--global")
            .args(args)
            .env_remove("GIT_CONFIG")
            .output()
            .map_err(|e| {
                Error::BadInput(format!(
                    "cannot run git (is it installed and on PATH?): {e}"
                ))
            })?;
        let code = out.status.code().unwrap_or(-1);
        // 1: key not found (--get-all); 5: nothing to unset. Anything else is git's error.
        if !matches!(code, 0 | 1 | 5) {
            return Err(Error::BadInput(format!(
                "git config {}: {}",
                args.first().unwrap_or(&""),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), code))
    }

    fn scheme(host: &str) -> &'static str {
        // Plain http only to this machine (the helper refuses anything else anyway).
        if crate::tools::is_loopback(host) {
            "http"
        } else {
            "https"
        }
    }

    fn section(host: &str) -> String {
        format!("credential.{}://{host}", scheme(host))
    }

    fn values(key: &str) -> Result<Vec<String>> {
        let (out, code) = git(&["--get-all", key])?;
        Ok(if code == 0 {
            out.lines().map(str::to_string).collect()
        } else {
            vec![]
        })
    }

    fn config_file() -> PathBuf {
        std::env::var_os("GIT_CONFIG_GLOBAL")
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|h| h.join(".gitconfig")))
            .unwrap_or_else(|| PathBuf::from("~/.gitconfig"))
    }

    pub(super) fn set_up(
        host: &str,
        program: &str,
        prior: Option<serde_json::Value>,
    ) -> Result<(PathBuf, serde_json::Value, bool, Vec<String>)> {
        let key = format!("{}.helper", section(host));
        // An empty value first: it clears the helpers configured before (a storage helper that
        // would answer with a stale password), for this host only.
        let ours = vec![
            String::new(),
            format!("{} git-credential", shell_word(program)),
        ];
        let current = values(&key)?;
        let undo = prior.unwrap_or_else(|| json!({ "key": key, "previous": current }));
        if current == ours {
            return Ok((config_file(), undo, false, vec![]));
        }
        git(&["--unset-all", &key])?;
        for v in &ours {
            git(&["--add", &key, v])?;
        }
        Ok((config_file(), undo, true, vec![]))
    }

    pub(super) fn remove(host: &str, undo: &serde_json::Value) -> Result<(PathBuf, Vec<String>)> {
        let key = undo["key"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}.helper", section(host)));
        git(&["--unset-all", &key])?;
        let previous: Vec<String> = undo["previous"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for v in &previous {
            git(&["--add", &key, v])?;
        }
        // The section git made for our keys goes too, unless something else lives in it.
        let sect = key.trim_end_matches(".helper").to_string();
        let (names, _) = git(&["--name-only", "--list"])?;
        let prefix = format!("{}.", sect.to_ascii_lowercase());
        let left = names
            .lines()
            .any(|n| n.to_ascii_lowercase().starts_with(&prefix));
        if !left {
            let _ = git(&["--remove-section", &sect]);
        }
        Ok((config_file(), vec![]))
    }
}

mod aws {
    use super::*;

    fn path() -> Result<PathBuf> {
        env_or_home("AWS_CONFIG_FILE", ".aws/config")
    }

    fn header(profile: &str) -> String {
        if profile == "default" {
            "[default]".into()
        } else {
            format!("[profile {profile}]")
        }
    }

    /// The line range of the profile's section (header to before the next header).
    fn find(text: &str, profile: &str) -> Option<(usize, usize)> {
        let lines: Vec<&str> = text.lines().collect();
        let want = header(profile);
        let norm = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
        let start = lines.iter().position(|l| norm(l.trim()) == want)?;
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with('['))
            .map_or(lines.len(), |i| start + 1 + i);
        Some((start, end))
    }

    fn splice(text: &str, range: Option<(usize, usize)>, section: Option<&str>) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let mut out: Vec<String> = vec![];
        match range {
            Some((s, e)) => {
                out.extend(lines[..s].iter().map(|l| l.to_string()));
                if let Some(sec) = section {
                    out.extend(sec.lines().map(str::to_string));
                }
                out.extend(lines[e..].iter().map(|l| l.to_string()));
            }
            None => {
                out.extend(lines.iter().map(|l| l.to_string()));
                if let Some(sec) = section {
                    if out.last().is_some_and(|l| !l.trim().is_empty()) {
                        out.push(String::new());
                    }
                    out.extend(sec.lines().map(str::to_string));
                }
            }
        }
        while out.last().is_some_and(|l| l.trim().is_empty()) {
            out.pop();
        }
        if out.is_empty() {
            String::new()
        } else {
            out.join("\n") + "\n"
        }
    }

    fn section_text(text: &str, range: (usize, usize)) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let mut sec: Vec<&str> = lines[range.0..range.1].to_vec();
        while sec.last().is_some_and(|l| l.trim().is_empty()) {
            sec.pop();
        }
        sec.join("\n")
    }

    pub(super) fn set_up(
        profile: &str,
        program: &str,
        conn: &str,
        region: Option<&str>,
        prior: Option<serde_json::Value>,
    ) -> Result<(PathBuf, serde_json::Value, bool, Vec<String>)> {
        if let Some(r) = region
            && (r.is_empty() || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(Error::BadInput(format!(
                "--region {r:?} is not a region name"
            )));
        }
        let path = path()?;
        let text = read_opt(&path)?;
        let existed = text.is_some();
        let text = text.unwrap_or_default();
        // The AWS CLI splits credential_process like a shell would; quote a path with spaces.
        let quoted = if program.contains([' ', '"']) {
            format!("\"{}\"", program.replace('"', "\\\""))
        } else {
            program.to_string()
        };
        let mut ours = format!(
            "{}\ncredential_process = {quoted} aws credential-process {conn}",
            header(profile)
        );
        if let Some(r) = region {
            ours.push_str(&format!("\nregion = {r}"));
        }
        let range = find(&text, profile);
        let current = range.map(|r| section_text(&text, r));
        let undo = prior.unwrap_or_else(|| json!({ "previous": current, "file_existed": existed }));
        let mut undo = undo;
        undo["wrote"] = json!(ours);
        if current.as_deref() == Some(ours.as_str()) {
            return Ok((path, undo, false, vec![]));
        }
        write_file(&path, &splice(&text, range, Some(&ours)))?;
        Ok((path, undo, true, vec![]))
    }

    pub(super) fn remove(
        profile: &str,
        undo: &serde_json::Value,
    ) -> Result<(PathBuf, Vec<String>)> {
        let path = path()?;
        let text = read_opt(&path)?.unwrap_or_default();
        let range = find(&text, profile);
        let current = range.map(|r| section_text(&text, r));
        if let (Some(cur), Some(wrote)) = (&current, undo["wrote"].as_str())
            && cur != wrote
        {
            return Err(Error::BadInput(format!(
                "profile {profile} in {} was changed since keyhaven set it up; edit it by hand",
                path.display()
            )));
        }
        let previous = undo["previous"].as_str();
        let new = splice(&text, range, previous);
        if new.is_empty() && undo["file_existed"] == json!(false) {
            let _ = std::fs::remove_file(&path);
        } else {
            write_file(&path, &new)?;
        }
        Ok((path, vec![]))
    }
}

mod kube {
    use super::*;
    use serde_yaml_ng::{Mapping, Value};

    fn path() -> Result<PathBuf> {
        match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            Some(v) => std::env::split_paths(&v)
                .find(|p| !p.as_os_str().is_empty())
                .ok_or_else(|| Error::BadInput("KUBECONFIG names no file".into())),
            None => Ok(home()?.join(".kube/config")),
        }
    }

    fn load(path: &Path) -> Result<Value> {
        let text = read_opt(path)?.ok_or_else(|| {
            Error::BadInput(format!(
                "no kubeconfig at {}: add your cluster to it first (kubectl config set-cluster)",
                path.display()
            ))
        })?;
        serde_yaml_ng::from_str(&text)
            .map_err(|e| Error::BadInput(format!("{} is not a kubeconfig: {e}", path.display())))
    }

    fn save(path: &Path, doc: &Value) -> Result<()> {
        let text = serde_yaml_ng::to_string(doc)
            .map_err(|e| Error::BadInput(format!("cannot write the kubeconfig: {e}")))?;
        write_file(path, &text)
    }

    fn list<'a>(doc: &'a mut Value, key: &str) -> Result<&'a mut Vec<Value>> {
        let map = doc
            .as_mapping_mut()
            .ok_or_else(|| Error::BadInput("the kubeconfig is not a mapping".into()))?;
        let entry = map
            .entry(Value::from(key))
            .or_insert_with(|| Value::Sequence(vec![]));
        if entry.is_null() {
            *entry = Value::Sequence(vec![]);
        }
        entry
            .as_sequence_mut()
            .ok_or_else(|| Error::BadInput(format!("the kubeconfig's {key} is not a list")))
    }

    fn named(v: &Value, name: &str) -> bool {
        v.get("name").and_then(Value::as_str) == Some(name)
    }

    fn user_name(conn: &str) -> String {
        format!("keyhaven-{conn}")
    }

    pub(super) fn set_up(
        context: &str,
        program: &str,
        conn: &str,
        opts: &SetupOptions,
        prior: Option<serde_json::Value>,
    ) -> Result<(PathBuf, serde_json::Value, bool, Vec<String>)> {
        let api = opts
            .api_version
            .clone()
            .unwrap_or_else(|| "client.authentication.k8s.io/v1".into());
        if ![
            "client.authentication.k8s.io/v1",
            "client.authentication.k8s.io/v1beta1",
        ]
        .contains(&api.as_str())
        {
            return Err(Error::BadInput(format!(
                "--api-version {api:?}: client.authentication.k8s.io/v1 or .../v1beta1"
            )));
        }
        let path = path()?;
        let mut doc = load(&path)?;
        let before = doc.clone();
        let name = user_name(conn);
        let contexts = list(&mut doc, "contexts")?;
        let Some(ctx) = contexts.iter_mut().find(|c| named(c, context)) else {
            let known: Vec<String> = contexts
                .iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .collect();
            return Err(Error::BadInput(format!(
                "no context {context:?} in {} (contexts: {})",
                path.display(),
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )));
        };
        let inner = ctx
            .as_mapping_mut()
            .ok_or_else(|| Error::BadInput(format!("context {context} is not a mapping")))?
            .entry(Value::from("context"))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        let previous_user = inner
            .get("user")
            .and_then(Value::as_str)
            .map(str::to_string);
        inner
            .as_mapping_mut()
            .ok_or_else(|| Error::BadInput(format!("context {context} is not a mapping")))?
            .insert(Value::from("user"), Value::from(name.clone()));
        let mut exec = Mapping::new();
        exec.insert("apiVersion".into(), Value::from(api));
        exec.insert("command".into(), Value::from(program));
        exec.insert(
            "args".into(),
            Value::Sequence(vec!["kube".into(), "credential".into(), Value::from(conn)]),
        );
        exec.insert("interactiveMode".into(), "Never".into());
        exec.insert("provideClusterInfo".into(), false.into());
        exec.insert(
            "installHint".into(),
            "keyhaven gives this user its token: install Keyhaven, or run `keyhaven setup kube \
             --remove`"
                .into(),
        );
        let mut user = Mapping::new();
        user.insert("exec".into(), Value::Mapping(exec));
        let mut entry = Mapping::new();
        entry.insert("name".into(), Value::from(name.clone()));
        entry.insert("user".into(), Value::Mapping(user));
        let users = list(&mut doc, "users")?;
        let had_user = users.iter().any(|u| named(u, &name));
        users.retain(|u| !named(u, &name));
        users.push(Value::Mapping(entry));
        let undo = prior
            .unwrap_or_else(|| json!({ "previous_user": previous_user, "had_user": had_user }));
        if doc == before {
            return Ok((path, undo, false, vec![]));
        }
        save(&path, &doc)?;
        Ok((path, undo, true, vec![]))
    }

    pub(super) fn remove(
        context: &str,
        undo: &serde_json::Value,
        conn: &str,
    ) -> Result<(PathBuf, Vec<String>)> {
        let path = path()?;
        let mut doc = load(&path)?;
        let name = user_name(conn);
        let contexts = list(&mut doc, "contexts")?;
        if let Some(ctx) = contexts.iter_mut().find(|c| named(c, context))
            && let Some(inner) = ctx.get_mut("context").and_then(Value::as_mapping_mut)
            && inner.get("user").and_then(Value::as_str) == Some(name.as_str())
        {
            match undo["previous_user"].as_str() {
                Some(u) => {
                    inner.insert("user".into(), Value::from(u));
                }
                None => {
                    inner.remove("user");
                }
            }
        }
        let still_used = list(&mut doc, "contexts")?.iter().any(|c| {
            c.get("context")
                .and_then(|i| i.get("user"))
                .and_then(Value::as_str)
                == Some(name.as_str())
        });
        if !still_used && undo["had_user"] != json!(true) {
            list(&mut doc, "users")?.retain(|u| !named(u, &name));
        }
        save(&path, &doc)?;
        Ok((path, vec![]))
    }
}

mod docker {
    use super::*;

    fn path() -> Result<PathBuf> {
        Ok(
            match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
                Some(d) => PathBuf::from(d).join("config.json"),
                None => home()?.join(".docker/config.json"),
            },
        )
    }

    fn link_dir(opts: Option<&Path>) -> Result<PathBuf> {
        match opts {
            Some(d) => Ok(d.to_path_buf()),
            None => Ok(home()?.join(".local/bin")),
        }
    }

    /// The link of the last setup, kept in the undo of every docker binding.
    fn link_of(undo: &serde_json::Value) -> Option<PathBuf> {
        undo["link"].as_str().map(PathBuf::from)
    }

    fn load(path: &Path) -> Result<(serde_json::Value, bool)> {
        match read_opt(path)? {
            None => Ok((json!({}), false)),
            Some(t) if t.trim().is_empty() => Ok((json!({}), true)),
            Some(t) => {
                let v: serde_json::Value = serde_json::from_str(&t)
                    .map_err(|e| Error::BadInput(format!("{} is not JSON: {e}", path.display())))?;
                if !v.is_object() {
                    return Err(Error::BadInput(format!(
                        "{} is not a JSON object",
                        path.display()
                    )));
                }
                Ok((v, true))
            }
        }
    }

    fn save(path: &Path, v: &serde_json::Value) -> Result<()> {
        let text = serde_json::to_string_pretty(v).expect("JSON serializes") + "\n";
        write_file(path, &text)
    }

    pub(super) fn set_up(
        registry: &str,
        program: &Path,
        opts: &SetupOptions,
        prior: Option<serde_json::Value>,
    ) -> Result<(PathBuf, serde_json::Value, bool, Vec<String>)> {
        let path = path()?;
        let (mut doc, existed) = load(&path)?;
        let previous = doc["credHelpers"][registry].clone();
        let dir = link_dir(opts.link_dir.as_deref())?;
        let link = dir.join("docker-credential-keyhaven");
        let mut notes = vec![];
        let linked = install_link(&link, program)?;
        if !on_path(&dir) {
            notes.push(format!(
                "{} is not on PATH: docker finds docker-credential-keyhaven only there",
                dir.display()
            ));
        }
        let mut undo =
            prior.unwrap_or_else(|| json!({ "previous": previous, "file_existed": existed }));
        undo["link"] = json!(link.display().to_string());
        if previous == json!("keyhaven") {
            return Ok((path, undo, linked, notes));
        }
        if !doc["credHelpers"].is_object() {
            doc["credHelpers"] = json!({});
        }
        doc["credHelpers"][registry] = json!("keyhaven");
        save(&path, &doc)?;
        Ok((path, undo, true, notes))
    }

    pub(super) fn remove(
        registry: &str,
        undo: &serde_json::Value,
        last: bool,
    ) -> Result<(PathBuf, Vec<String>)> {
        let path = path()?;
        let (mut doc, _) = load(&path)?;
        if let Some(helpers) = doc["credHelpers"].as_object_mut()
            && helpers.get(registry) == Some(&json!("keyhaven"))
        {
            match &undo["previous"] {
                serde_json::Value::String(s) => {
                    helpers.insert(registry.into(), json!(s));
                }
                _ => {
                    helpers.remove(registry);
                }
            }
            if helpers.is_empty() {
                doc.as_object_mut().expect("object").remove("credHelpers");
            }
        }
        let empty = doc.as_object().is_some_and(|m| m.is_empty());
        if empty && undo["file_existed"] == json!(false) {
            let _ = std::fs::remove_file(&path);
        } else {
            save(&path, &doc)?;
        }
        let mut notes = vec![];
        if last
            && let Some(link) = link_of(undo)
            && remove_link(&link)?
        {
            notes.push(format!("removed {}", link.display()));
        }
        Ok((path, notes))
    }
}

mod terraform {
    use super::*;

    const BEGIN: &str =
        "# keyhaven setup terraform: begin (keyhaven setup terraform --remove takes it out)";
    const END: &str = "# keyhaven setup terraform: end";

    fn path() -> Result<PathBuf> {
        env_or_home("TF_CLI_CONFIG_FILE", ".terraformrc")
    }

    fn link() -> Result<PathBuf> {
        Ok(home()?.join(".terraform.d/plugins/terraform-credentials-keyhaven"))
    }

    pub(super) fn set_up(
        program: &Path,
        prior: Option<serde_json::Value>,
    ) -> Result<(PathBuf, serde_json::Value, bool, Vec<String>)> {
        let path = path()?;
        let text = read_opt(&path)?;
        let existed = text.is_some();
        let text = text.unwrap_or_default();
        let link = link()?;
        let linked = install_link(&link, program)?;
        let mut undo = prior.unwrap_or_else(|| json!({ "file_existed": existed }));
        undo["link"] = json!(link.display().to_string());
        if text.contains(BEGIN) {
            return Ok((path, undo, linked, vec![]));
        }
        // Terraform allows one credentials_helper block: another one is the person's.
        if text
            .lines()
            .any(|l| l.trim_start().starts_with("credentials_helper"))
        {
            return Err(Error::BadInput(format!(
                "{} already has a credentials_helper (Terraform allows one); remove it first",
                path.display()
            )));
        }
        let mut new = text.clone();
        if !new.is_empty() && !new.ends_with('\n') {
            new.push('\n');
        }
        new.push_str(&format!(
            "{BEGIN}\ncredentials_helper \"keyhaven\" {{\n  args = []\n}}\n{END}\n"
        ));
        write_file(&path, &new)?;
        Ok((path, undo, true, vec![]))
    }

    pub(super) fn remove(undo: &serde_json::Value, last: bool) -> Result<(PathBuf, Vec<String>)> {
        let path = path()?;
        if !last {
            return Ok((path, vec![]));
        }
        let text = read_opt(&path)?.unwrap_or_default();
        if let (Some(s), Some(e)) = (text.find(BEGIN), text.find(END)) {
            let end = (e + END.len() + 1).min(text.len());
            let new = format!("{}{}", &text[..s], &text[end..]);
            if new.trim().is_empty() && undo["file_existed"] == json!(false) {
                let _ = std::fs::remove_file(&path);
            } else {
                write_file(&path, &new)?;
            }
        }
        let mut notes = vec![];
        if let Ok(link) = link()
            && remove_link(&link)?
        {
            notes.push(format!("removed {}", link.display()));
        }
        Ok((path, notes))
    }
}

mod cargo {
    use super::*;
    use toml_edit::{Array, DocumentMut, Item, Table, value};

    fn path() -> Result<PathBuf> {
        let dir = match std::env::var_os("CARGO_HOME").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => home()?.join(".cargo"),
        };
        // cargo reads `config` when there is no `config.toml`.
        let legacy = dir.join("config");
        if !dir.join("config.toml").exists() && legacy.is_file() {
            return Ok(legacy);
        }
        Ok(dir.join("config.toml"))
    }

    fn load(path: &Path) -> Result<(DocumentMut, bool)> {
        let text = read_opt(path)?;
        let existed = text.is_some();
        let doc = text
            .unwrap_or_default()
            .parse::<DocumentMut>()
            .map_err(|e| Error::BadInput(format!("{} is not TOML: {e}", path.display())))?;
        Ok((doc, existed))
    }

    /// `[registry]` for crates.io, `[registries.NAME]` for the others.
    fn table<'a>(doc: &'a mut DocumentMut, name: &str) -> Result<&'a mut Table> {
        let bad = || Error::BadInput(format!("the cargo config's registry {name} is not a table"));
        if name == "crates-io" {
            return doc
                .entry("registry")
                .or_insert(Item::Table(Table::new()))
                .as_table_mut()
                .ok_or_else(bad);
        }
        let regs = doc
            .entry("registries")
            .or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            })
            .as_table_mut()
            .ok_or_else(bad)?;
        regs.entry(name)
            .or_insert(Item::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(bad)
    }

    pub(super) fn set_up(
        name: &str,
        program: &str,
        prior: Option<serde_json::Value>,
    ) -> Result<(PathBuf, serde_json::Value, bool, Vec<String>)> {
        let path = path()?;
        let (mut doc, existed) = load(&path)?;
        let t = table(&mut doc, name)?;
        let previous = t
            .get("credential-provider")
            .map(|i| i.to_string().trim().to_string());
        let mut ours = Array::new();
        ours.push(program);
        ours.push("cargo-credential");
        let ours_text = ours.to_string().trim().to_string();
        let undo =
            prior.unwrap_or_else(|| json!({ "previous": previous, "file_existed": existed }));
        if previous.as_deref() == Some(ours_text.as_str()) {
            return Ok((path, undo, false, vec![]));
        }
        t.insert("credential-provider", value(ours));
        write_file(&path, &doc.to_string())?;
        Ok((path, undo, true, vec![]))
    }

    pub(super) fn remove(name: &str, undo: &serde_json::Value) -> Result<(PathBuf, Vec<String>)> {
        let path = path()?;
        let (mut doc, _) = load(&path)?;
        let t = table(&mut doc, name)?;
        match undo["previous"].as_str() {
            Some(prev) => {
                let v: toml_edit::Value = prev.parse().map_err(|e| {
                    Error::BadInput(format!("cannot restore credential-provider: {e}"))
                })?;
                t.insert("credential-provider", Item::Value(v));
            }
            None => {
                t.remove("credential-provider");
            }
        }
        let emptied = t.is_empty();
        if emptied {
            if name == "crates-io" {
                doc.remove("registry");
            } else if let Some(regs) = doc.get_mut("registries").and_then(Item::as_table_mut) {
                regs.remove(name);
                if regs.is_empty() {
                    doc.remove("registries");
                }
            }
        }
        let text = doc.to_string();
        if text.trim().is_empty() && undo["file_existed"] == json!(false) {
            let _ = std::fs::remove_file(&path);
        } else {
            write_file(&path, &text)?;
        }
        Ok((path, vec![]))
    }
}

/// MCP clients (docs/mcp.md): the server entry that runs `keyhaven mcp-proxy CONN`, under the
/// target's name, in the client's own file (`mcp::McpClient::config_path`). The undo keeps the
/// entry that was there under that name before, if any.
mod mcp {
    use super::*;
    use crate::mcp::{ConfigFormat, McpClient};
    use serde_json::Value;

    /// `CLIENT/NAME` of a target.
    pub(super) fn split(target: &str) -> Result<(McpClient, &str)> {
        let (client, name) = target
            .split_once('/')
            .ok_or_else(|| Error::BadInput(format!("{target:?}: an MCP target is CLIENT/NAME")))?;
        let client = McpClient::parse(client)?;
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !ok {
            return Err(Error::BadInput(format!(
                "server name {name:?}: use letters, digits, - _ ."
            )));
        }
        if !client.writable() {
            return Err(Error::BadInput(format!(
                "{}'s settings may hold comments, which rewriting would lose: paste the \
                 snippet `keyhaven setup mcp CONN --client {}` prints",
                client.as_str(),
                client.as_str()
            )));
        }
        Ok((client, name))
    }

    fn load_json(path: &Path) -> Result<(Value, bool)> {
        let text = read_opt(path)?;
        let existed = text.is_some();
        let doc = match text.as_deref().map(str::trim) {
            None | Some("") => Value::Object(Default::default()),
            Some(t) => serde_json::from_str(t).map_err(|e| {
                Error::BadInput(format!(
                    "{} is not plain JSON ({e}): nothing was changed; paste the snippet instead",
                    path.display()
                ))
            })?,
        };
        if !doc.is_object() {
            return Err(Error::BadInput(format!(
                "{} is not a JSON object: nothing was changed",
                path.display()
            )));
        }
        Ok((doc, existed))
    }

    fn save_json(path: &Path, doc: &Value) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        let text = serde_json::to_string_pretty(doc).expect("JSON serializes") + "\n";
        write_file(path, &text)
    }

    fn servers<'a>(
        doc: &'a mut Value,
        key: &str,
        path: &Path,
    ) -> Result<&'a mut serde_json::Map<String, Value>> {
        let entry = doc
            .as_object_mut()
            .expect("checked an object")
            .entry(key)
            .or_insert_with(|| Value::Object(Default::default()));
        entry
            .as_object_mut()
            .ok_or_else(|| Error::BadInput(format!("{}'s {key} is not an object", path.display())))
    }

    pub(super) fn set_up(
        target: &str,
        program: &Path,
        conn: &str,
        prior: Option<Value>,
    ) -> Result<(PathBuf, Value, bool, Vec<String>)> {
        let (client, name) = split(target)?;
        let path = client.config_path(&home()?);
        match client.format() {
            ConfigFormat::Json(key) => {
                let (mut doc, existed) = load_json(&path)?;
                let ours = client.entry(program, conn);
                let list = servers(&mut doc, key, &path)?;
                let previous = list.get(name).cloned();
                let undo = prior
                    .unwrap_or_else(|| json!({ "previous": previous, "file_existed": existed }));
                if previous.as_ref() == Some(&ours) {
                    return Ok((path, undo, false, vec![]));
                }
                list.insert(name.to_string(), ours);
                save_json(&path, &doc)?;
                Ok((path, undo, true, restart_note(client)))
            }
            ConfigFormat::Toml => {
                let text = read_opt(&path)?;
                let existed = text.is_some();
                let mut doc: toml_edit::DocumentMut = text
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e| Error::BadInput(format!("{} is not TOML: {e}", path.display())))?;
                let snippet: toml_edit::DocumentMut = client
                    .snippet(program, name, conn)
                    .parse()
                    .expect("our snippet is TOML");
                let ours = snippet["mcp_servers"][name].clone();
                let servers = doc
                    .entry("mcp_servers")
                    .or_insert_with(|| {
                        let mut t = toml_edit::Table::new();
                        t.set_implicit(true);
                        toml_edit::Item::Table(t)
                    })
                    .as_table_mut()
                    .ok_or_else(|| {
                        Error::BadInput(format!("{}'s mcp_servers is not a table", path.display()))
                    })?;
                let previous = servers.get(name).map(|i| i.to_string());
                let undo = prior.unwrap_or_else(
                    || json!({ "previous_toml": previous, "file_existed": existed }),
                );
                if previous.as_deref().map(str::trim) == Some(ours.to_string().trim()) {
                    return Ok((path, undo, false, vec![]));
                }
                servers.insert(name, ours);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
                }
                write_file(&path, &doc.to_string())?;
                Ok((path, undo, true, restart_note(client)))
            }
        }
    }

    fn restart_note(client: McpClient) -> Vec<String> {
        vec![format!(
            "restart {} (or reload its MCP servers) to start the proxy",
            client.as_str()
        )]
    }

    pub(super) fn remove(target: &str, undo: &Value) -> Result<(PathBuf, Vec<String>)> {
        let (client, name) = split(target)?;
        let path = client.config_path(&home()?);
        let gone = undo["file_existed"] == json!(false);
        match client.format() {
            ConfigFormat::Json(key) => {
                let (mut doc, _) = load_json(&path)?;
                let list = servers(&mut doc, key, &path)?;
                match undo.get("previous").filter(|v| !v.is_null()) {
                    Some(prev) => {
                        list.insert(name.to_string(), prev.clone());
                    }
                    None => {
                        list.remove(name);
                    }
                }
                if list.is_empty() {
                    doc.as_object_mut().expect("an object").remove(key);
                }
                if gone && doc.as_object().is_some_and(|o| o.is_empty()) {
                    let _ = std::fs::remove_file(&path);
                } else {
                    save_json(&path, &doc)?;
                }
            }
            ConfigFormat::Toml => {
                let text = read_opt(&path)?.unwrap_or_default();
                let mut doc: toml_edit::DocumentMut = text
                    .parse()
                    .map_err(|e| Error::BadInput(format!("{} is not TOML: {e}", path.display())))?;
                if let Some(servers) = doc.get_mut("mcp_servers").and_then(|i| i.as_table_mut()) {
                    match undo["previous_toml"].as_str() {
                        Some(prev) => {
                            let parsed: toml_edit::DocumentMut =
                                format!("[x]\n{prev}").parse().map_err(|e| {
                                    Error::BadInput(format!("cannot restore {name}: {e}"))
                                })?;
                            servers.insert(name, parsed["x"].clone());
                        }
                        None => {
                            servers.remove(name);
                        }
                    }
                    if servers.is_empty() {
                        doc.remove("mcp_servers");
                    }
                }
                let text = doc.to_string();
                if gone && text.trim().is_empty() {
                    let _ = std::fs::remove_file(&path);
                } else {
                    write_file(&path, &text)?;
                }
            }
        }
        Ok((path, vec![]))
    }
}
