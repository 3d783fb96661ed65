//! The command-line contract: help everywhere, usage errors exit 2, list on an empty vault; shell
//! completions and the man page generated from the same definitions, checked by the real shells
//! and man.

use std::io::Write;
use std::process::{Output, Stdio};

use crate::support::{Session, assert_fails, keyhaven_bin};

#[test]
fn help_is_available_for_every_command() {
    let s = Session::bare();
    for args in [
        vec!["--help"],
        vec!["init", "--help"],
        vec!["vault", "--help"],
        vec!["vault", "status", "--help"],
        vec!["vault", "rekey", "--help"],
        vec!["list", "--help"],
        vec!["help", "vault"],
    ] {
        let out = s.kh(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
    assert!(String::from_utf8_lossy(&s.kh(&["--version"]).stdout).starts_with("keyhaven "));
}

#[test]
fn usage_errors_exit_2() {
    let s = Session::bare();
    for args in [
        vec!["frobnicate"],
        vec!["list", "--bogus"],
        vec!["vault"],
        vec![],
    ] {
        let out = s.kh(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn commands_before_init_say_to_run_init() {
    let s = Session::with_keyring();
    for args in [
        vec!["list"],
        vec!["vault", "status"],
        vec!["vault", "rekey"],
    ] {
        assert_fails(&s.kh(&args), 1, "run `keyhaven init` first");
    }
    assert!(!s.vault_file().exists(), "nothing created");
}

#[test]
fn list_on_a_new_vault_is_empty() {
    let s = Session::with_keyring();
    s.kh_ok(&["init"]);
    assert_eq!(s.kh_ok(&["list", "--json"]).trim(), "[]");
    assert!(s.kh_ok(&["list"]).contains("No connections yet"));
}

/// Runs `program ARGS` with `input` on stdin, or None when the program is not installed.
fn run_tool(s: &Session, program: &str, args: &[&str], input: &[u8]) -> Output {
    let mut child = s
        .command(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/install-deps.sh test installs it)"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// `keyhaven ARGS` succeeded with nothing on stderr and without touching the data directory
/// (these commands never open the vault: the session has no keychain, so opening would fail).
fn generated(s: &Session, args: &[&str]) -> String {
    let out = s.kh(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    assert!(out.stderr.is_empty(), "{args:?}: {out:?}");
    assert_eq!(
        std::fs::read_dir(s.home()).unwrap().count(),
        0,
        "{args:?} wrote to the data directory"
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completion_completes_keyhaven_commands() {
    let s = Session::bare();
    let script = generated(&s, &["completions", "bash"]);
    assert!(script.contains("_keyhaven() {"), "{script}");
    assert!(script.contains("complete -F _keyhaven"), "{script}");
    for word in [
        "connect",
        "token",
        "providers",
        "handle-url",
        "completions",
        "man",
    ] {
        assert!(script.contains(word), "{word} missing");
    }
    let file = s.tmp.path().join("keyhaven.bash");
    std::fs::write(&file, &script).unwrap();
    let file = file.to_str().unwrap();
    let out = s.command("bash").args(["-n", file]).output().unwrap();
    assert!(out.status.success(), "bash -n: {out:?}");
    // Loaded into a plain bash (no bash-completion package needed), it completes for real.
    let complete = |words: &str, cword: u32| {
        let cmd = format!(
            "source {file}; COMP_WORDS=({words}); COMP_CWORD={cword}; \
             _keyhaven keyhaven \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = s
            .command("bash")
            .args(["--norc", "-c", &cmd])
            .output()
            .unwrap();
        assert!(out.status.success(), "{words}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(complete("keyhaven pro", 1).trim(), "providers");
    let providers = complete("keyhaven providers ''", 2);
    for sub in ["list", "add", "configure"] {
        assert!(providers.lines().any(|l| l == sub), "{sub}: {providers}");
    }
    let shells = complete("keyhaven completions ''", 2);
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.lines().any(|l| l == shell), "{shell}: {shells}");
    }
}

#[test]
fn zsh_and_fish_completions_parse() {
    let s = Session::bare();
    let zsh = generated(&s, &["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef keyhaven"), "{zsh}");
    assert!(zsh.contains("handle-url") && zsh.contains("providers"));
    let fish = generated(&s, &["completions", "fish"]);
    assert!(fish.contains("complete -c keyhaven"), "{fish}");
    assert!(fish.contains("token") && fish.contains("providers"));
    // Each shell parses its script (zsh and fish are test packages).
    let out = run_tool(&s, "zsh", &["-n"], zsh.as_bytes());
    assert!(out.status.success(), "zsh -n: {out:?}");
    let out = run_tool(&s, "fish", &["--no-execute"], fish.as_bytes());
    assert!(out.status.success(), "fish --no-execute: {out:?}");
}

#[test]
fn man_page_is_roff_that_man_renders() {
    let s = Session::bare();
    let page = generated(&s, &["man"]);
    // roff's apostrophe preamble (`.ie`/`.el` lines) comes first, then the title macro.
    let first = page
        .lines()
        .find(|l| !l.starts_with(".ie ") && !l.starts_with(".el "))
        .unwrap();
    assert!(first.starts_with(".TH keyhaven 1 "), "{first}");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH COMMANDS",
        ".SH \"EXIT STATUS\"",
    ] {
        assert!(page.contains(section), "{section} missing");
    }
    // Rendered by man-db, as `man keyhaven` would.
    let out = run_tool(&s, "man", &["-l", "-"], page.as_bytes());
    assert!(out.status.success(), "{out:?}");
    // Compare words: undo overstrike bold, the typesetter's hyphens (U+2010, U+2212), line-end
    // hyphenation and justified spacing.
    let mut text = String::new();
    for c in String::from_utf8_lossy(&out.stdout).chars() {
        match c {
            '\u{8}' => drop(text.pop()),
            '\u{2010}' | '\u{2212}' => text.push('-'),
            c => text.push(c),
        }
    }
    let text = text
        .split("-\n")
        .map(str::trim_start)
        .collect::<Vec<_>>()
        .join("");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("keyhaven"), "{text}");
    for command in [
        "keyhaven init",
        "keyhaven connect",
        "keyhaven token",
        "keyhaven providers list",
        "keyhaven vault status",
        "keyhaven completions",
    ] {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
    // groff's own warnings (-ww) on the page: none.
    let out = run_tool(
        &s,
        "groff",
        &["-man", "-Tutf8", "-ww", "-z"],
        page.as_bytes(),
    );
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "groff: {out:?}"
    );
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let s = Session::bare();
    let out = s.kh(&["completions", "ksh"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("keyhaven: error: invalid value 'ksh'"),
        "clap's usage error, on one line: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        first.contains("[possible values: bash, zsh, fish]"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
    assert_eq!(s.kh(&["completions"]).status.code(), Some(2));
}

#[test]
fn generators_end_quietly_in_a_closed_pipe() {
    let s = Session::bare();
    for args in [["completions", "bash"].as_slice(), ["man"].as_slice()] {
        let mut child = s
            .command(keyhaven_bin())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        let out = child.wait_with_output().unwrap();
        // Like every command: a closed stdout ends it quietly with the usual status.
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {out:?}");
    }
}
