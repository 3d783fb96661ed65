//! Checks provider files without rebuilding the catalog: each one loads and validates, its id
//! is its file name, and the whole directory passes the cross-entry checks (`catalog::lint`).
//!
//! ```sh
//! cargo run -p keyhaven-core --example check-providers [DIR or FILE.toml ...]
//! ```
//!
//! With no argument it checks `crates/keyhaven-core/providers`. Prints one line per problem and
//! the number of entries per auth mode; exits 1 when anything is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keyhaven_core::catalog::{ProviderDef, lint};

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let args = if args.is_empty() {
        vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("providers")]
    } else {
        args
    };
    let mut files = Vec::new();
    for a in &args {
        if a.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(a)
                .unwrap_or_else(|e| panic!("{}: {e}", a.display()))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(a.clone());
        }
    }
    let mut problems = Vec::new();
    let mut defs = Vec::new();
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        match ProviderDef::from_toml(&text) {
            Ok(d) => {
                let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                if d.id != stem {
                    problems.push(format!(
                        "{}: id {:?} is not the file name",
                        f.display(),
                        d.id
                    ));
                }
                defs.push(d);
            }
            Err(e) => problems.push(format!("{}: {e}", f.display())),
        }
    }
    problems.extend(lint::lint(&defs));
    let mut modes: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &defs {
        *modes.entry(d.auth_mode.as_str()).or_default() += 1;
    }
    for p in &problems {
        println!("{p}");
    }
    println!(
        "{} entries: {modes:?}; {} problems",
        defs.len(),
        problems.len()
    );
    if !problems.is_empty() {
        std::process::exit(1);
    }
}
