//! The `gradwell` binary's command line, run as a user would run it.

use std::process::Command;

fn gradwell(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(args)
        .output()
        .expect("the gradwell binary runs")
}

#[test]
fn version_prints_the_package_version() {
    let out = gradwell(&["version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("gradwell {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_verbs_fail_loudly_instead_of_pretending() {
    let out = gradwell(&["serve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not implemented yet"));
}
