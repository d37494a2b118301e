//! The `gradwell` binary's command line, run as a user would run it.

use std::{io::Write, process::Command};

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
fn serve_without_config_is_a_usage_error() {
    let out = gradwell(&["serve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config"));
}

#[test]
fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "hostname = \"x\"\nlocal_domain = [\"a\"]\n").unwrap();
    let out = gradwell(&["serve", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("local_domain"), "{err}");
}

#[test]
fn user_verbs_read_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    let users = users.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(["user", "--users-file", users, "add", "erin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"pw-erin\n").unwrap();
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(users).unwrap();
    assert!(text.starts_with("erin:{ARGON2ID}$argon2id$"), "{text}");
    assert!(!text.contains("pw-erin"));
    let out = gradwell(&["user", "--users-file", users, "list"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "erin\n");
    assert!(
        gradwell(&["user", "--users-file", users, "del", "erin"])
            .status
            .success()
    );
    assert!(
        !gradwell(&["user", "--users-file", users, "del", "erin"])
            .status
            .success()
    );
}
