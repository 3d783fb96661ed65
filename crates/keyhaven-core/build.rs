//! Rebuild whenever a migration or a provider file is added or edited: `include_dir!` alone does not tell cargo to
//! watch the directory, and a migration silently missing from a build would leave every vault
//! it creates one schema version behind.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=providers");
}
