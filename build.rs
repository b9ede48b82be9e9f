//! Names the commit a binary was built from, for `orgimport --version`: `0.1.0 (3723564a9b1c
//! 2026-12-07)`, as `rustc --version` does. Outside a git checkout (a crate tarball) the
//! version stands alone.

use std::process::Command;

fn main() {
    let info = git(&["log", "-1", "--format=%h %cs", "--abbrev=12"])
        .map(|line| format!(" ({line})"))
        .unwrap_or_default();
    println!("cargo:rustc-env=ORGIMPORT_BUILD_INFO={info}");
    // Built again when HEAD moves (a commit, a checkout), wherever this checkout keeps it.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let common = git(&["rev-parse", "--git-common-dir"]).unwrap_or(dir);
            println!("cargo:rerun-if-changed={common}/{head}");
            println!("cargo:rerun-if-changed={common}/packed-refs");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// The trimmed output of `git ARGS`, when git runs and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}
