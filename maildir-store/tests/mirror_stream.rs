//! `Mirror::read_stream` hands out the preferred replica's own stream (same bytes as a whole
//! read), and falls back to the other replica when the preferred one has failed.

use std::{io::Read, sync::Arc, time::SystemTime};

use maildir_store::{
    AppendRequest, MailStore, MailboxName, ReadPart, UserId,
    maildir::{self, Maildir},
    mirror::{self, Mirror},
};

/// The one message file in a Maildir user directory.
fn message_file(user_dir: &std::path::Path) -> std::path::PathBuf {
    ["new", "cur"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(user_dir.join(sub)).unwrap())
        .map(|e| e.unwrap().path())
        .next()
        .expect("a message file")
}

#[test]
fn streams_match_whole_reads_and_survive_a_lost_primary() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [&a, &b] {
        Maildir::init_replica(dir.path()).unwrap();
    }
    let open = |dir: &tempfile::TempDir| -> Arc<dyn mirror::Replica> {
        Arc::new(Maildir::open(dir.path(), maildir::Options::default()).unwrap())
    };
    let m = Mirror::open(open(&a), open(&b), mirror::Options::default()).unwrap();
    let user = UserId::new("bob").unwrap();
    let inbox = MailboxName::inbox();
    let mut body = b"Subject: big\n\n".to_vec();
    for i in 0..20_000 {
        body.extend_from_slice(format!("line {i}\n").as_bytes());
    }
    let request = AppendRequest::new(SystemTime::now());
    let uid = m
        .append(&user, &inbox, &mut body.as_slice(), &request)
        .unwrap();
    let whole = m.read(&user, &inbox, uid, ReadPart::Whole).unwrap();
    let mut streamed = Vec::new();
    m.read_stream(&user, &inbox, uid)
        .unwrap()
        .read_to_end(&mut streamed)
        .unwrap();
    assert_eq!(streamed, whole);

    // The stream reads the file as it goes (it is not a copy taken whole): cut the primary's
    // file after the first few octets were read, and the rest is gone from the stream too.
    let mut stream = m.read_stream(&user, &inbox, uid).unwrap();
    let mut start = [0u8; 16];
    stream.read_exact(&mut start).unwrap();
    let file = message_file(&a.path().join("bob"));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(20_000)
        .unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert!(
        rest.len() < whole.len() - 50_000,
        "read lazily: {}",
        rest.len()
    );
    // Put the primary's copy back for what follows.
    std::fs::write(&file, &body).unwrap();

    // The primary's array goes away: the stream comes from the secondary.
    let gone = a.path().with_extension("gone");
    std::fs::rename(a.path(), &gone).unwrap();
    let mut again = Vec::new();
    m.read_stream(&user, &inbox, uid)
        .unwrap()
        .read_to_end(&mut again)
        .unwrap();
    assert_eq!(again, whole);
    assert!(m.status().primary.is_some(), "the primary was fenced");
    std::fs::rename(&gone, a.path()).unwrap();
}
