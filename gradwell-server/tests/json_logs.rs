//! `log_format = "json"`: the `gradwell` binary writes one JSON object per line, every line
//! of a session carries the session ID (a message's lines its queue ID too), and neither a
//! password nor an AUTH payload ever reaches the log.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    process::{Command, Stdio},
    time::Duration,
};

const PASSWORD: &str = "s3cret-Pw-xyzzy";
/// base64("\0alice\0s3cret-Pw-xyzzy"), an AUTH PLAIN payload.
const PLAIN_PAYLOAD: &str = "AGFsaWNlAHMzY3JldC1Qdy14eXp6eQ==";
const WRONG: &str = "wrong-Pw-plugh";

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

struct Talk {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Talk {
    fn connect(port: u16) -> Talk {
        for _ in 0..200 {
            if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut t = Talk {
                    reader: BufReader::new(s.try_clone().unwrap()),
                    writer: s,
                };
                t.line();
                return t;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("server on port {port} did not start");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line
    }

    fn ask(&mut self, command: &str) -> String {
        self.writer
            .write_all(format!("{command}\r\n").as_bytes())
            .unwrap();
        self.line()
    }
}

#[test]
fn json_lines_carry_the_session_and_never_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("replica-a");
    std::fs::create_dir(&root).unwrap();
    maildir_store::maildir::Maildir::init_replica(&root).unwrap();
    std::fs::write(
        dir.path().join("users"),
        format!("alice:{{PLAIN}}{PASSWORD}\n"),
    )
    .unwrap();
    let (pop3, smtp) = (free_port(), free_port());
    let config = dir.path().join("gradwell.toml");
    std::fs::write(
        &config,
        format!(
            r#"
hostname = "mx.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "alice"
log_format = "json"
[storage]
mirror_sets = [["replica-a"]]
fsync = false
[limits]
auth_penalty_initial_ms = 10
auth_penalty_max_ms = 20
[[listener]]
service = "pop3"
address = "127.0.0.1:{pop3}"
tls = "none"
allow_cleartext_auth = true
[[listener]]
service = "smtp"
address = "127.0.0.1:{smtp}"
tls = "none"
"#
        ),
    )
    .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let mut c = Talk::connect(smtp);
    for (command, want) in [
        ("HELO client.example.net", "250 "),
        ("MAIL FROM:<a@example.net>", "250 "),
        ("RCPT TO:<alice@example.test>", "250 "),
        ("DATA", "354 "),
        ("Subject: x\r\n\r\nhello\r\n.", "250 "),
    ] {
        let answer = c.ask(command);
        assert!(answer.starts_with(want), "{command}: {answer}");
    }
    c.ask("QUIT");

    let mut p = Talk::connect(pop3);
    assert!(p.ask("USER alice").starts_with("+OK"));
    assert!(p.ask(&format!("PASS {WRONG}")).starts_with("-ERR"));
    assert!(
        p.ask(&format!("AUTH PLAIN {PLAIN_PAYLOAD}"))
            .starts_with("+OK")
    );
    assert!(p.ask("RETR 1").starts_with("+OK"));
    loop {
        match p.line().as_str() {
            ".\r\n" => break,
            "" => panic!("connection closed inside RETR"),
            _ => {}
        }
    }
    assert!(p.ask("QUIT").starts_with("+OK"));

    let stopped = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(server.wait().unwrap().success());

    for secret in [PASSWORD, PLAIN_PAYLOAD, WRONG] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    let mut sessions = std::collections::HashSet::new();
    let mut queue_ids = 0;
    for line in log.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object: {e}: {line}"));
        assert!(value.is_object(), "{line}");
        let message = value["fields"]["message"].as_str().unwrap_or_default();
        if ["logged in", "authentication failed"].contains(&message) {
            let id = value["span"]["id"]
                .as_str()
                .or_else(|| value["spans"][0]["id"].as_str())
                .unwrap_or_else(|| panic!("no session id: {line}"));
            assert_eq!(id.len(), 12, "{line}");
            sessions.insert(id.to_owned());
        }
        if value["span"]["queue_id"].is_string() {
            assert!(
                value["spans"][0]["id"].is_string(),
                "queue lines in a session: {line}"
            );
            queue_ids += 1;
        }
    }
    assert_eq!(sessions.len(), 1, "both POP3 lines in one session:\n{log}");
    assert!(
        queue_ids > 0,
        "the delivery is logged with its queue ID:\n{log}"
    );
}
