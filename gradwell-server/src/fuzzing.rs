//! Bodies of the fuzz targets in `/fuzz/fuzz_targets/gradwell_*.rs`, plain functions so that
//! unit tests run them too.

use std::num::NonZeroU32;

use imap_proto::{
    codec::ResponseCodec,
    options::Options,
    types::{
        fetch::{Section, SectionText},
        non_empty::NonEmpty,
        response::{Data, FetchData, Response},
    },
};

use crate::imap::{
    envelope::{body_structure, envelope},
    fetch::section_bytes,
    mime::{self, Kind, Part},
    structure::Structure,
};

/// Part paths visited at most per input.
const MAX_PATHS: usize = 200;

fn paths(part: &Part, prefix: &mut Vec<u32>, out: &mut Vec<Vec<u32>>) {
    if out.len() >= MAX_PATHS {
        return;
    }
    out.push(prefix.clone());
    let children: Vec<&Part> = match &part.kind {
        Kind::Multi(children) => children.iter().collect(),
        Kind::Message(inner) => match &inner.kind {
            Kind::Multi(children) => children.iter().collect(),
            _ => vec![inner.as_ref()],
        },
        Kind::Leaf => Vec::new(),
    };
    for (i, child) in children.into_iter().enumerate() {
        prefix.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
        paths(child, prefix, out);
        prefix.pop();
    }
}

/// A message of any bytes: its MIME tree, every section of every part, and the FETCH
/// response with its ENVELOPE and BODYSTRUCTURE, which must decode again (imap-proto's
/// response parser) and re-encode to the same bytes. Never panics.
pub fn message_structure(data: &[u8]) {
    let root = mime::parse(data);
    let mut found = Vec::new();
    paths(&root, &mut Vec::new(), &mut found);
    for path in found {
        let part: Vec<NonZeroU32> = path.iter().filter_map(|n| NonZeroU32::new(*n)).collect();
        let texts = [
            None,
            Some(SectionText::Header),
            Some(SectionText::Text),
            Some(SectionText::Mime),
        ];
        for text in texts {
            if let Ok(section) = Section::new(part.clone(), text) {
                let _ = section_bytes(data, &root, &section);
            }
        }
    }
    // The store's record of the structure decodes to the same structure, and ENVELOPE from
    // its header fields equals ENVELOPE from the header.
    let structure = Structure::of(data);
    let record = structure.encode();
    assert_eq!(
        Structure::decode(&record).as_ref(),
        Some(&structure),
        "the structure record does not round-trip"
    );
    let header = data.get(root.header.clone()).unwrap_or_default();
    let from_fields = envelope(structure.envelope_header(&structure.root));
    assert_eq!(
        from_fields,
        envelope(header),
        "ENVELOPE from the kept fields differs"
    );
    let items = vec![
        FetchData::Envelope(Box::new(from_fields)),
        FetchData::BodyStructure(Box::new(body_structure(&structure, &structure.root, true))),
    ];
    let Ok(items) = NonEmpty::try_from(items) else {
        return;
    };
    let response = Response::Data(Data::Fetch {
        seq: NonZeroU32::MIN,
        items,
    });
    let wire = response.encode().dump();
    let mut options = Options::default();
    // Each MIME level nests a few parentheses; the structure parser stops at 64 levels.
    options.max_nesting_depth = 16 * mime::MAX_DEPTH;
    let decoded = ResponseCodec::new(options).decode(&wire);
    let Ok((rest, back)) = decoded else {
        panic!("our FETCH response does not parse: {decoded:?}");
    };
    assert!(rest.is_empty(), "bytes left after the response");
    assert_eq!(
        back.encode().dump(),
        wire,
        "re-encoding changed the response"
    );
}

/// Any bytes as a structure record read back from the store: decoding never panics and is
/// bounded; a record that decodes encodes to one that decodes to the same structure, and
/// every part's ranges lie within the size it names.
pub fn structure_record(data: &[u8]) {
    let Some(structure) = Structure::decode(data) else {
        return;
    };
    let again = Structure::decode(&structure.encode()).expect("our own record decodes");
    assert_eq!(again, structure);
    let mut found = Vec::new();
    paths(&structure.root, &mut Vec::new(), &mut found);
    for path in found {
        if let Some(part) = mime::find(&structure.root, &path) {
            assert!(part.header.start <= part.header.end && part.body.start <= part.body.end);
        }
    }
}

/// Protocol-trace redaction over arbitrary client lines: never panics, output stays
/// bounded, and a LOGIN/PASS/USER/AUTH line with arguments never shows them.
pub fn protocol_trace(data: &[u8]) {
    let mut tracer = crate::trace::Tracer::default();
    for line in data.split(|&b| b == b'\n') {
        let shown = tracer.redact(line);
        // Lossy UTF-8 turns one octet into up to three; the suffix names the length.
        assert!(shown.len() <= 3 * 200 + 32, "trace line not cut");
        let text = String::from_utf8_lossy(line);
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        let secret = |w: &&str| {
            ["LOGIN", "PASS", "USER"]
                .iter()
                .any(|c| w.eq_ignore_ascii_case(c))
        };
        if let Some(at) = words.iter().take(2).position(secret)
            && words.len() > at + 1
        {
            assert!(shown.ends_with("<redacted>"), "credential shown: {shown}");
        }
    }
}

/// The operations listener's request-line parser on arbitrary octets.
pub fn ops_request(data: &[u8]) {
    if let Some((method, path)) = crate::ops_http::request_line(data) {
        assert!(!method.contains(' ') && !path.contains(' '));
    }
}

/// An mbox file of any bytes, read as mboxrd and as mboxo: never panics, and every
/// message read writes back (as `gradwell export` writes mbox) to an mbox that reads back
/// to the same messages, flags and dates.
pub fn migrate_mbox(data: &[u8]) {
    use crate::migrate::{export::mbox_entry, mbox};
    for quoting in [mbox::Quoting::Mboxrd, mbox::Quoting::Mboxo] {
        let Ok(mbox::Mbox { messages, .. }) = mbox::parse(data, quoting) else {
            continue;
        };
        let mut written = Vec::new();
        for m in &messages {
            mbox_entry(&m.body, &m.flags, m.internal_date, "", &mut written);
        }
        let back = mbox::parse(&written, mbox::Quoting::Mboxrd);
        let Ok(mbox::Mbox { messages: back, .. }) = back else {
            panic!("our mbox does not parse: {back:?}");
        };
        assert_eq!(back.len(), messages.len(), "message count");
        for (a, b) in messages.iter().zip(&back) {
            let lf: Vec<u8> = crate::migrate::export::to_lf(&a.body);
            let mut want = lf.clone();
            if !want.is_empty() && want.last() != Some(&b'\n') {
                want.push(b'\n');
            }
            assert_eq!(b.body, want, "body");
            assert_eq!(b.flags, a.flags, "flags");
            assert_eq!(b.internal_date, a.internal_date, "date");
        }
    }
}

/// The migration sources' control files (`dovecot-uidlist`, `dovecot-keywords`,
/// `courierimapuiddb`, `courierimapkeywords/:list`, `courierimapsubscribed`) of any bytes:
/// a value or a clear error, never a panic.
pub fn migrate_control_files(data: &[u8]) {
    use crate::migrate::{courier, dovecot};
    let text = String::from_utf8_lossy(data);
    if let Ok(list) = dovecot::parse_uidlist(&text, "INBOX") {
        assert!(list.records.keys().all(|u| *u > 0 && *u < list.next_uid));
    }
    if let Ok(list) = courier::parse_uiddb(&text, "INBOX") {
        assert!(list.records.keys().all(|u| *u > 0 && *u < list.next_uid));
    }
    let _ = dovecot::parse_keywords(&text);
    let _ = courier::parse_keywords(&text);
    let _ = courier::parse_subscriptions(&text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_inputs() {
        let inputs: [&[u8]; 10] = [
            // Found by fuzzing: `\r\r\n` is `\r\n` after the line-end conversion, which the
            // reader takes as the end of the header.
            b"From a Sat Jan  3 01:05:34 1996\nA: b\r\r\nc\nStatus: O\n",
            // Found by fuzzing: a four-digit year below 1000 must be written back as four.
            b"From x Fri Oct  1 07:07:00 0021\nS: y\n",
            b"",
            b"From a Sat Jan  3 01:05:34 1996\nStatus: RO\n\n>From x\nFrom y\n\n",
            b"From a Sat Jan  3 01:05:34 1996\r\nS: x\r\n\r\nbody\r\n",
            b"From a Sat Jan  3 01:05:34 1996\n\nFrom b Sun Jan  4 01:05:34 1996\n",
            b"From a Sat Jan  3 01:05:34 1996\nX-Status: AFTD\nX-Keywords: a b\n",
            b"3 V1 N5\n1 P\x80 O9 :x\n4 :y:2,S\n",
            b"1 7 3\n1 a\n2 b\n",
            b"Work\n\nx:0 1 2\nINBOX.Sent\n",
        ];
        for input in inputs {
            migrate_mbox(input);
            migrate_control_files(input);
        }
    }

    #[test]
    fn trace_and_request_bodies_hold_on_awkward_input() {
        for input in [
            b"".as_slice(),
            b"a LOGIN alice secret\nb login {5}\nsecret\n",
            b"PASS \xff\xfe\xfd\n\r\n",
            b"x AUTHENTICATE PLAIN AGFsaWNl\nAGFsaWNl\n*\n",
            &[0xffu8; 1000],
        ] {
            protocol_trace(input);
            ops_request(input);
        }
        ops_request(b"GET / HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn structure_records_of_real_messages_and_of_noise() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n--b--\r\n";
        let record = Structure::of(msg).encode();
        structure_record(&record);
        for cut in 0..record.len() {
            structure_record(&record[..cut]);
        }
        let mut flipped = record.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0x5a;
            structure_record(&flipped);
            flipped[i] ^= 0x5a;
        }
        structure_record(b"GS\x01");
    }

    #[test]
    fn structures_round_trip() {
        let inputs: [&[u8]; 7] = [
            b"",
            // Found by fuzzing: mail-parser reads this unnamed field as `Cc`.
            b":\x0cC\x0c\x0c\x0cC:\x0c\x0c\x0c::\x0c",
            b"Subject: x\r\n\r\nbody",
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: \"A, B\" <a@b>\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nt\r\n--c--\r\n--b\r\nContent-Disposition: attachment; filename=\"x\\\"y\"\r\n\r\nz\r\n--b--\r\n",
            b"To: group: a@b, c@d;\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\n",
            b"Content-Type: text/plain; charset=\"\x80\x81\"\r\n\r\n\x00\x01",
            b"From: \r\n\t<>\r\n\r\n",
        ];
        for input in inputs {
            message_structure(input);
        }
        let mut deep = Vec::new();
        for _ in 0..200 {
            deep.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        message_structure(&deep);
    }
}
