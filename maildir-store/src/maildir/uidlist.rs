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
/// else malformed is an error (the caller rebuilds).
pub(crate) fn parse(bytes: &[u8]) -> Result<UidList, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    let complete = match text.rfind('\n') {
        Some(i) => text.get(..i).unwrap_or_default(),
        None => return Err("no complete header line".into()),
    };
    let mut lines = complete.split('\n');
    let header = lines.next().unwrap_or_default();
    let mut fields = header.split(' ');
    let version = fields.next().unwrap_or_default();
    let mut list = UidList {
        uid_validity: 0,
        header_next_uid: 1,
        guid: None,
        records: Vec::new(),
    };
    match version {
        "1" => {
            list.uid_validity = number(fields.next())?;
            list.header_next_uid = number(fields.next())?;
        }
        "3" => {
            for f in fields.filter(|f| !f.is_empty()) {
                let (key, value) = f.split_at(1);
                match key {
                    "V" => list.uid_validity = number(Some(value))?,
                    "N" => list.header_next_uid = number(Some(value))?,
                    "G" => list.guid = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
        other => return Err(format!("unsupported version {other:?}")),
    }
    if list.uid_validity == 0 {
        return Err("missing UIDVALIDITY".into());
    }
    for line in lines {
        let record = if version == "1" {
            let (uid, name) = line.split_once(' ').ok_or("record without file name")?;
            UidRecord::new(number(Some(uid))?, base_of(name).to_owned())
        } else {
            parse_v3_record(line)?
        };
        if record.uid == 0 || list.records.last().is_some_and(|l| l.uid >= record.uid) {
            return Err(format!("UID {} out of order", record.uid));
        }
        list.records.push(record);
    }
    Ok(list)
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
    let base = base_of(name);
    if base.is_empty() || base.contains('/') {
        return Err("bad file name".into());
    }
    Ok(UidRecord {
        uid,
        ext,
        base: base.to_owned(),
    })
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
        let l = parse(DOVECOT.as_bytes()).unwrap(); // Unwrap: known-good input.
        assert_eq!(l.uid_validity, 1_795_911_969);
        assert_eq!(l.header_next_uid, 3);
        assert_eq!(l.next_uid(), 4, "N lags: the last record wins");
        assert_eq!(l.records.len(), 3);
        let r = &l.records[2];
        assert_eq!(r.base, "1795911967.M170635P12084.vm,S=22,W=25");
        assert_eq!(r.ext('P'), Some("0000000300000001"));
        let again = parse(&l.to_bytes()).unwrap(); // Unwrap: our own output.
        assert_eq!(again.records, l.records);
        assert_eq!(again.header_next_uid, 4);
    }

    #[test]
    fn version_1_and_torn_tail() {
        let l = parse(b"1 100 5\n1 a.b.c:2,S\n4 d.e.f\n").unwrap(); // Unwrap: valid v1.
        assert_eq!((l.uid_validity, l.next_uid()), (100, 5));
        let torn = parse(b"3 V7 N1\n1 :a.b.c\n2 :d.e").unwrap(); // Unwrap: valid prefix.
        assert_eq!(torn.records.len(), 1);
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
    }
}
