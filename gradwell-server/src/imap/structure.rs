//! A parsed message as the store keeps it: the MIME tree with the byte offsets of every
//! part's header and body (so `BODY[section]` reads only its range), and the header fields
//! ENVELOPE needs for the message and each encapsulated `message/rfc822` (so ENVELOPE and
//! BODYSTRUCTURE need no message bytes at all). Encoded into the store's opaque structure
//! record ([`maildir_store::MailStore::cache_structure`]):
//!
//! ```text
//! b"GS" version(1)  size: u64       the message size; every offset is within it
//! part := header.start header.end body.start body.end lines      (u64 each)
//!         media_type subtype params id description encoding md5 disposition language location
//!         kind: 0 leaf | 1 multi (count: u32, part*) | 2 message (envelope fields, part)
//! root  := envelope fields, part
//! ```
//! Strings are `u32` length + bytes, options a 0/1 tag, lists a `u32` count, integers little
//! endian. Decoding is as bounded as parsing ([`mime::MAX_DEPTH`], [`mime::MAX_PARTS`]) and
//! rejects offsets outside the message; a record that does not decode is parsed afresh.

use std::{collections::HashMap, ops::Range};

use super::{
    envelope,
    mime::{self, Kind, Part},
};

/// Record format version.
const VERSION: u8 = 1;

/// A message's parsed structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structure {
    /// The message as a whole entity.
    pub root: Part,
    /// Size of the message the offsets index.
    size: u64,
    /// The ENVELOPE header fields of the root and of each encapsulated message, by the
    /// offset of the header they came from.
    envelopes: HashMap<usize, Vec<u8>>,
}

impl Structure {
    /// Parses `data` (a whole message, CRLF form).
    pub fn of(data: &[u8]) -> Self {
        let root = mime::parse(data);
        let mut envelopes = HashMap::new();
        let mut stack = vec![&root];
        while let Some(part) = stack.pop() {
            match &part.kind {
                Kind::Multi(children) => stack.extend(children),
                Kind::Message(inner) => {
                    stack.push(inner);
                    envelopes.insert(inner.header.start, header_fields(data, inner));
                }
                Kind::Leaf => {}
            }
        }
        envelopes.insert(root.header.start, header_fields(data, &root));
        Self {
            root,
            size: data.len() as u64,
            envelopes,
        }
    }

    /// The ENVELOPE header fields of `part` (the root or an encapsulated message).
    pub fn envelope_header(&self, part: &Part) -> &[u8] {
        self.envelopes
            .get(&part.header.start)
            .map_or(&b"\r\n"[..], Vec::as_slice)
    }

    /// The store record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = b"GS".to_vec();
        out.push(VERSION);
        out.extend_from_slice(&self.size.to_le_bytes());
        bytes(&mut out, self.envelope_header(&self.root));
        self.part(&mut out, &self.root);
        out
    }

    fn part(&self, out: &mut Vec<u8>, p: &Part) {
        for n in [p.header.start, p.header.end, p.body.start, p.body.end] {
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
        out.extend_from_slice(&p.lines.to_le_bytes());
        bytes(out, p.media_type.as_bytes());
        bytes(out, p.subtype.as_bytes());
        pairs(out, &p.params);
        for o in [&p.id, &p.description, &p.encoding, &p.md5] {
            option(out, o.as_deref());
        }
        match &p.disposition {
            None => out.push(0),
            Some((value, params)) => {
                out.push(1);
                bytes(out, value.as_bytes());
                pairs(out, params);
            }
        }
        option(out, p.language.as_deref());
        option(out, p.location.as_deref());
        match &p.kind {
            Kind::Leaf => out.push(0),
            Kind::Multi(children) => {
                out.push(1);
                count(out, children.len());
                for c in children {
                    self.part(out, c);
                }
            }
            Kind::Message(inner) => {
                out.push(2);
                bytes(out, self.envelope_header(inner));
                self.part(out, inner);
            }
        }
    }

    /// A record back, if it is a well-formed one of this version. (The store only returns a
    /// record for the message it was kept for.)
    pub fn decode(record: &[u8]) -> Option<Self> {
        let mut r = Reader {
            rest: record.strip_prefix(b"GS")?,
            budget: mime::MAX_PARTS + 1,
            envelopes: HashMap::new(),
            size: 0,
        };
        if r.u8()? != VERSION {
            return None;
        }
        let size = r.u64()?;
        r.size = size;
        let root_envelope = r.bytes()?.to_vec();
        let root = r.part(0)?;
        if !r.rest.is_empty() {
            return None;
        }
        let mut envelopes = r.envelopes;
        envelopes.insert(root.header.start, root_envelope);
        Some(Self {
            root,
            size,
            envelopes,
        })
    }
}

fn header_fields(data: &[u8], part: &Part) -> Vec<u8> {
    envelope::envelope_fields(data.get(part.header.clone()).unwrap_or_default())
}

fn count(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    count(out, b.len());
    out.extend_from_slice(b);
}

fn option(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            bytes(out, s.as_bytes());
        }
    }
}

fn pairs(out: &mut Vec<u8>, list: &[(String, String)]) {
    count(out, list.len());
    for (k, v) in list {
        bytes(out, k.as_bytes());
        bytes(out, v.as_bytes());
    }
}

/// Decoding state: what is left of the record and how many parts may still come.
struct Reader<'a> {
    rest: &'a [u8],
    budget: usize,
    envelopes: HashMap<usize, Vec<u8>>,
    size: u64,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n)?;
        self.rest = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }

    fn option(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }

    fn pairs(&mut self) -> Option<Vec<(String, String)>> {
        let n = self.u32()? as usize;
        // Each pair takes at least 8 bytes: a count larger than that is a lie.
        if n > self.rest.len() / 8 {
            return None;
        }
        (0..n)
            .map(|_| Some((self.string()?, self.string()?)))
            .collect()
    }

    fn range(&mut self) -> Option<Range<usize>> {
        let (start, end) = (self.u64()?, self.u64()?);
        if start > end || end > self.size {
            return None;
        }
        Some(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    fn part(&mut self, depth: usize) -> Option<Part> {
        self.budget = self.budget.checked_sub(1)?;
        if depth > mime::MAX_DEPTH {
            return None;
        }
        let header = self.range()?;
        let body = self.range()?;
        let lines = self.u64()?;
        let media_type = self.string()?;
        let subtype = self.string()?;
        let params = self.pairs()?;
        let (id, description, encoding, md5) = (
            self.option()?,
            self.option()?,
            self.option()?,
            self.option()?,
        );
        let disposition = match self.u8()? {
            0 => None,
            1 => Some((self.string()?, self.pairs()?)),
            _ => return None,
        };
        let (language, location) = (self.option()?, self.option()?);
        let kind = match self.u8()? {
            0 => Kind::Leaf,
            1 => {
                let n = self.u32()? as usize;
                if n > self.budget {
                    return None;
                }
                Kind::Multi(
                    (0..n)
                        .map(|_| self.part(depth + 1))
                        .collect::<Option<_>>()?,
                )
            }
            2 => {
                let fields = self.bytes()?.to_vec();
                let inner = self.part(depth + 1)?;
                self.envelopes.insert(inner.header.start, fields);
                Kind::Message(Box::new(inner))
            }
            _ => return None,
        };
        Some(Part {
            header,
            body,
            media_type,
            subtype,
            params,
            id,
            description,
            encoding,
            md5,
            disposition,
            language,
            location,
            lines,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &[u8] = b"From: a@b.test\r\nSubject: outer\r\nX-Other: dropped\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline; name=x\r\n\r\nline1\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nTo: c@d.test\r\n\r\ninner body\r\n--b--\r\n";

    #[test]
    fn record_round_trip() {
        let s = Structure::of(NESTED);
        let back = Structure::decode(&s.encode());
        assert_eq!(back.as_ref(), Some(&s));
        let root_fields = s.envelope_header(&s.root);
        assert!(root_fields.starts_with(b"From: a@b.test\r\nSubject: outer\r\n"));
        assert!(!root_fields.windows(7).any(|w| w == b"X-Other"));
    }

    #[test]
    fn envelope_from_fields_equals_envelope_from_header() {
        let s = Structure::of(NESTED);
        let header = &NESTED[s.root.header.clone()];
        assert_eq!(
            envelope::envelope(s.envelope_header(&s.root)),
            envelope::envelope(header)
        );
    }

    #[test]
    fn wrong_version_or_truncation_is_refused() {
        let record = Structure::of(NESTED).encode();
        let mut other = record.clone();
        other[2] = VERSION + 1;
        assert!(Structure::decode(&other).is_none());
        for cut in 0..record.len() {
            assert!(Structure::decode(&record[..cut]).is_none());
        }
    }

    #[test]
    fn hostile_nesting_stays_bounded_through_the_record() {
        let mut msg = Vec::new();
        for _ in 0..10_000 {
            msg.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        let s = Structure::of(&msg);
        let back = Structure::decode(&s.encode());
        assert_eq!(back, Some(s));
    }
}
