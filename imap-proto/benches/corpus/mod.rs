//! The realistic traffic both the throughput bench (`codec.rs`) and the allocation test
//! (`tests/allocations.rs`) measure, so their numbers describe the same messages.

/// What a mail client sends most: header fetches, searches, flag changes, an APPEND, IDLE.
pub(crate) fn commands() -> Vec<Vec<u8>> {
    let mut append = b"A5 APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {4096}\r\n".to_vec();
    append.extend(std::iter::repeat_n(b'x', 4094));
    append.extend_from_slice(b"\r\n\r\n");
    vec![
        b"A1 UID FETCH 1:1000 (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID REFERENCES IN-REPLY-TO)])\r\n".to_vec(),
        b"A2 UID SEARCH UNDELETED SINCE 1-Feb-2024 OR FROM \"alice@example.org\" SUBJECT \"quarterly report\"\r\n".to_vec(),
        b"A3 UID STORE 4827313:4827320 +FLAGS.SILENT (\\Seen $Forwarded)\r\n".to_vec(),
        b"A4 UID FETCH 4827313 (BODY.PEEK[] BODYSTRUCTURE)\r\n".to_vec(),
        append,
        b"A6 IDLE\r\n".to_vec(),
        b"A7 SELECT INBOX\r\n".to_vec(),
        b"A8 UID MOVE 42:45 Archive/2024\r\n".to_vec(),
    ]
}

const HEADER: &str = "From: Alice <alice@example.org>\r\nSubject: Lunch?\r\nDate: Mon, 2 Dec 2024 12:00:00 +0000\r\n\r\n";

/// What a server sends most: FETCH with ENVELOPE and BODYSTRUCTURE, LIST, flags, completions.
pub(crate) fn responses() -> Vec<Vec<u8>> {
    vec![
        b"* 12 FETCH (UID 4827313 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" \"report.pdf\") NIL NIL \"BASE64\" 4554 NIL (\"attachment\" (\"filename\" \"report.pdf\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"xyz\") NIL NIL NIL))\r\n".to_vec(),
        format!(
            "* 13 FETCH (UID 4827314 FLAGS (\\Seen \\Answered $Label1) BODY[HEADER.FIELDS (FROM SUBJECT DATE)] {{{}}}\r\n{HEADER})\r\n",
            HEADER.len()
        )
        .into_bytes(),
        b"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n".to_vec(),
        b"* LIST (\\HasChildren) \"/\" Archive\r\n".to_vec(),
        b"* 23 FETCH (FLAGS (\\Seen \\Deleted) UID 4827320)\r\n".to_vec(),
        b"* 172 EXISTS\r\n".to_vec(),
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n".to_vec(),
        b"A1 OK [READ-WRITE] SELECT completed\r\n".to_vec(),
    ]
}
