//! `dovecot-uidlist`: Dovecot's UID ↔ file map, version 3 (read: versions 1 and 3).
//!
//! ```text
//! 3 V<uidvalidity> N<nextuid> G<mailbox guid hex>
//! <uid> [<key><value> ...] :<base file name>
//! ```
//! Record keys we keep as they are: `G` (message GUID), `W` (virtual size), `P` (POP3 UIDL),
//! `O` (POP3 order). Records only ever get appended; other changes rewrite the whole file
//! (by renaming the lock file over it). The header's `N` may lag behind appended records, so
//! the next UID is the larger of `N` and the last record plus one.

/// The parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UidList {
    /// Read from a version 1 file: must be rewritten (as version 3) before appending.
    pub(crate) v1: bool,
    pub(crate) uid_validity: u32,
    pub(crate) header_next_uid: u32,
    pub(crate) guid: Option<String>,
    pub(crate) records: Vec<UidRecord>,
}

/// One message line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UidRecord {
    pub(crate) uid: u32,
    pub(crate) ext: Vec<(char, String)>,
    pub(crate) base: String,
}

impl UidRecord {
    /// A record with no extension fields.
    pub(crate) fn new(uid: u32, base: String) -> Self {
        Self {
            uid,
            ext: Vec::new(),
            base,
        }
    }

    /// An extension field's value.
    pub(crate) fn ext(&self, key: char) -> Option<&str> {
        self.ext
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl UidList {
    /// An empty list.
    pub(crate) fn new(uid_validity: u32, guid: String) -> Self {
        Self {
            v1: false,
            uid_validity,
            header_next_uid: 1,
            guid: Some(guid),
            records: Vec::new(),
        }
    }

    /// The next UID to hand out.
    pub(crate) fn next_uid(&self) -> u32 {
        let after_last = self.records.last().map_or(1, |r| r.uid.saturating_add(1));
        self.header_next_uid.max(after_last)
    }

    /// The whole file, header first, with `N` brought up to date.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("3 V{} N{}", self.uid_validity, self.next_uid());
        if let Some(g) = &self.guid {
            out.push_str(&format!(" G{g}"));
        }
        out.push('\n');
        for r in &self.records {
            out.push_str(&record_line(r));
        }
        out.into_bytes()
    }
}

/// One record as a line, with its newline.
pub(crate) fn record_line(r: &UidRecord) -> String {
    let mut line = r.uid.to_string();
    for (k, v) in &r.ext {
        line.push(' ');
        line.push(*k);
        line.push_str(v);
    }
    line.push_str(" :");
    line.push_str(&r.base);
    line.push('\n');
    line
}

/// Parses the file. A last line without its newline is a torn append and is ignored; anything
/// else malformed is an error (the caller rebuilds). Also returns how many bytes were used
/// (everything up to the last newline), so later appends can be read incrementally.
pub(crate) fn parse(bytes: &[u8]) -> Result<(UidList, usize), String> {
    let header_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no complete header line")?;
    let header = std::str::from_utf8(bytes.get(..header_end).unwrap_or_default())
        .map_err(|_| "header not UTF-8".to_owned())?;
    let mut fields = header.split(' ');
    let version = fields.next().unwrap_or_default();
    let mut list = UidList {
        v1: false,
        uid_validity: 0,
        header_next_uid: 1,
        guid: None,
        records: Vec::new(),
    };
    let v1 = match version {
        "1" => {
            list.uid_validity = number(fields.next())?;
            list.header_next_uid = number(fields.next())?;
            true
        }
        "3" => {
            for f in fields.filter(|f| !f.is_empty()) {
                let mut chars = f.chars();
                let key = chars.next();
                let value = chars.as_str();
                match key {
                    Some('V') => list.uid_validity = number(Some(value))?,
                    Some('N') => list.header_next_uid = number(Some(value))?,
                    Some('G') => list.guid = Some(value.to_owned()),
                    _ => {}
                }
            }
            false
        }
        other => return Err(format!("unsupported version {other:?}")),
    };
    if list.uid_validity == 0 {
        return Err("missing UIDVALIDITY".into());
    }
    list.v1 = v1;
    let body = bytes.get(header_end + 1..).unwrap_or_default();
    let used = list.append_tail(body, v1)?;
    Ok((list, header_end + 1 + used))
}

impl UidList {
    /// Parses complete record lines appended after what was already read; returns the bytes
    /// used (up to the last newline).
    pub(crate) fn append_tail(&mut self, tail: &[u8], v1: bool) -> Result<usize, String> {
        let used = tail.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let text = std::str::from_utf8(tail.get(..used).unwrap_or_default())
            .map_err(|_| "record not UTF-8".to_owned())?;
        for line in text.split_terminator('\n') {
            let record = if v1 {
                let (uid, name) = line.split_once(' ').ok_or("record without file name")?;
                UidRecord::new(number(Some(uid))?, checked_base(name)?.to_owned())
            } else {
                parse_v3_record(line)?
            };
            if record.uid == 0 || self.records.last().is_some_and(|l| l.uid >= record.uid) {
                return Err(format!("UID {} out of order", record.uid));
            }
            self.records.push(record);
        }
        Ok(used)
    }
}

fn parse_v3_record(line: &str) -> Result<UidRecord, String> {
    let (head, name) = line
        .split_once(" :")
        .ok_or_else(|| "record without ' :'".to_owned())?;
    let mut parts = head.split(' ');
    let uid = number(parts.next())?;
    let mut ext = Vec::new();
    for p in parts.filter(|p| !p.is_empty()) {
        let mut chars = p.chars();
        let key = chars.next().ok_or("empty field")?;
        ext.push((key, chars.as_str().to_owned()));
    }
    Ok(UidRecord {
        uid,
        ext,
        base: checked_base(name)?.to_owned(),
    })
}

/// The base of a recorded file name, which must be a usable Maildir name.
fn checked_base(name: &str) -> Result<&str, String> {
    let base = base_of(name);
    if base.is_empty() || base.contains('/') || base.contains('\n') {
        return Err("bad file name".into());
    }
    Ok(base)
}

fn base_of(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

fn number(s: Option<&str>) -> Result<u32, String> {
    let s = s.ok_or("missing number")?;
    s.parse().map_err(|_| format!("bad number {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOVECOT: &str = "3 V1795911969 N3 Ge1a0b1091f710b6b342f000083ecc375\n\
        1 :1795911967.M166100P12084.vm,S=18,W=21\n\
        2 :1795911967.M168673P12084.vm,S=20,W=23\n\
        3 W25 P0000000300000001 :1795911967.M170635P12084.vm,S=22,W=25:2,S\n";

    #[test]
    fn parses_what_dovecot_wrote() {
        let (l, used) = parse(DOVECOT.as_bytes()).unwrap();
        assert_eq!(used, DOVECOT.len()); // Unwrap: known-good input.
        assert_eq!(l.uid_validity, 1_795_911_969);
        assert_eq!(l.header_next_uid, 3);
        assert_eq!(l.next_uid(), 4, "N lags: the last record wins");
        assert_eq!(l.records.len(), 3);
        let r = &l.records[2];
        assert_eq!(r.base, "1795911967.M170635P12084.vm,S=22,W=25");
        assert_eq!(r.ext('P'), Some("0000000300000001"));
        let (again, _) = parse(&l.to_bytes()).unwrap(); // Unwrap: our own output.
        assert_eq!(again.records, l.records);
        assert_eq!(again.header_next_uid, 4);
    }

    #[test]
    fn version_1_and_torn_tail() {
        let (l, _) = parse(b"1 100 5\n1 a.b.c:2,S\n4 d.e.f\n").unwrap(); // Unwrap: valid v1.
        assert_eq!((l.uid_validity, l.next_uid()), (100, 5));
        let (torn, used) = parse(b"3 V7 N1\n1 :a.b.c\n2 :d.e").unwrap(); // Unwrap: valid prefix.
        assert_eq!((torn.records.len(), used), (1, 17));
        let mut grown = torn.clone();
        assert_eq!(grown.append_tail(b"2 :d.e\n3 :f", false), Ok(7));
        assert_eq!(grown.records.len(), 2);
    }

    #[test]
    fn rejects_corruption() {
        for bad in [
            &b""[..],
            b"3 V7 N1",
            b"garbage\n",
            b"3 N1\n",
            b"3 V7 N1\n2 :a\n1 :b\n",
            b"3 V7 N1\n1 :a\n1 :b\n",
            b"3 V7 N1\nx :a\n",
            b"3 V7 N1\n1 a\n",
            b"3 V7 N1\n0 :a\n",
            b"\xff\xfe\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        // Multi-byte characters where one-byte keys are expected must not panic.
        assert!(parse(b"3 V7 \xc3\xa9x\n1 \xc3\xa9 :a\n").is_ok());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn round_trip(uids in proptest::collection::btree_set(1u32..1_000_000, 0..20), v in 1u32..) {
            let mut list = UidList::new(v, "00112233445566778899aabbccddeeff".into());
            list.records = uids.iter().map(|u| UidRecord::new(*u, format!("{u}.M1P1.h,S=1"))).collect();
            let bytes = list.to_bytes();
            let (back, used) = parse(&bytes).expect("own output parses");
            proptest::prop_assert_eq!(used, bytes.len());
            proptest::prop_assert_eq!(back.records, list.records);
            proptest::prop_assert_eq!(back.uid_validity, v);
        }
    }
}
