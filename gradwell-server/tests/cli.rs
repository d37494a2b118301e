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

#[test]
fn user_move_with_no_server_running_moves_the_mail_and_the_map() {
    use maildir_store::{AppendRequest, MailStore, MailboxName, UserId, maildir::Maildir};
    let dir = tempfile::tempdir().unwrap();
    for root in ["one", "two"] {
        std::fs::create_dir(dir.path().join(root)).unwrap();
        Maildir::init_replica(&dir.path().join(root)).unwrap();
    }
    let bob = UserId::new("bob").unwrap();
    let first = Maildir::open(&dir.path().join("one"), Default::default()).unwrap();
    first
        .append(
            &bob,
            &MailboxName::inbox(),
            &mut &b"Subject: hi\r\n\r\nhello\r\n"[..],
            &AppendRequest::new(std::time::SystemTime::now()),
        )
        .unwrap();
    let uidls = |s: &Maildir| -> Vec<String> {
        let view = s.pop3_view(&bob).unwrap();
        view.into_iter().map(|e| e.uidl).collect()
    };
    let before = uidls(&first);
    std::fs::write(dir.path().join("users"), "bob:{PLAIN}pw\n").unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "hostname = \"mx.example.test\"\nlocal_domains = [\"example.test\"]\nusers_file = \"users\"\n\
         postmaster = \"bob\"\n[storage]\nmirror_sets = [[\"one\"], [\"two\"]]\nfsync = false\n",
    )
    .unwrap();
    let out = gradwell(&[
        "user",
        "--config",
        config.to_str().unwrap(),
        "move",
        "bob",
        "1",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("moved bob from set 0 to set 1"), "{text}");
    let second = Maildir::open(&dir.path().join("two"), Default::default()).unwrap();
    assert_eq!(uidls(&second), before, "same UIDLs on the new set");
    assert!(uidls(&first).is_empty(), "the old copy retired");
    let map = std::fs::read_to_string(dir.path().join("one/.gradwell-placement")).unwrap();
    assert!(map.contains("user bob 1\n"), "{map}");
}
