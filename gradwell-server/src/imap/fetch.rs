//! FETCH and UID FETCH (RFC 3501 §6.4.5): FLAGS, UID, INTERNALDATE, RFC822.SIZE,
//! ENVELOPE, BODY, BODYSTRUCTURE, BODY[section]<partial>, RFC822*, BINARY (RFC 3516) and
//! MODSEQ with CHANGEDSINCE (RFC 7162). Each message's response is written before the next
//! one is read, so a FETCH of many large bodies needs one message of memory.

use std::{borrow::Cow, num::NonZeroU32, ops::Range, sync::Arc};

use base64::Engine;
use imap_proto::types::{
    core::{IString, Literal8, LiteralMode, NString, Number64, NzNumber64},
    fetch::{FetchAttribute, FetchItems, Section, SectionText},
    non_empty::NonEmpty,
    response::{BinaryData, Data, FetchData, SimpleCode},
    sequence::SequenceSet,
};
use maildir_store::{FlagChange, Flags, MailStore, MailboxName, ReadPart, SystemFlag, Uid, UserId};

use super::{
    Reply, Session, dates, envelope,
    mime::{self, Kind, Part},
    selected::{modseq, to_imap},
};
use crate::net::conn::Conn;

/// Message bytes as a string. NUL cannot travel in a literal (RFC 3501 §4.3: CHAR8), so it
/// is sent as 0x80, as Dovecot does; BINARY carries the exact octets.
fn nstring(bytes: &[u8]) -> NString {
    let cleaned: Cow<'_, [u8]> = if bytes.contains(&0) {
        Cow::Owned(
            bytes
                .iter()
                .map(|b| if *b == 0 { 0x80 } else { *b })
                .collect(),
        )
    } else {
        Cow::Borrowed(bytes)
    };
    NString(IString::from_bytes(&cleaned).ok())
}

pub(super) fn needs_content(attr: &FetchAttribute) -> bool {
    !matches!(
        attr,
        FetchAttribute::Flags
            | FetchAttribute::Uid
            | FetchAttribute::InternalDate
            | FetchAttribute::Rfc822Size
            | FetchAttribute::ModSeq
    )
}

fn sets_seen(attr: &FetchAttribute) -> bool {
    matches!(
        attr,
        FetchAttribute::BodySection { peek: false, .. }
            | FetchAttribute::Binary { peek: false, .. }
            | FetchAttribute::Rfc822
            | FetchAttribute::Rfc822Text
    )
}

/// Where the octets of a section are in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Extent<'s> {
    /// The whole message.
    Whole,
    /// One byte range.
    Range(Range<usize>),
    /// Some lines of the header block at this range (HEADER.FIELDS, `.NOT` when `not`).
    Fields {
        header: Range<usize>,
        names: Vec<&'s [u8]>,
        not: bool,
    },
}

/// The octets a section names (RFC 3501 §6.4.5); `None` for a part that does not exist.
pub(crate) fn section_bytes<'a>(
    data: &'a [u8],
    root: &Part,
    section: &Section,
) -> Option<Cow<'a, [u8]>> {
    match section_extent(root, section)? {
        Extent::Whole => Some(Cow::Borrowed(data)),
        Extent::Range(r) => data.get(r).map(Cow::Borrowed),
        Extent::Fields { header, names, not } => Some(Cow::Owned(mime::header_fields(
            data.get(header)?,
            &names,
            not,
        ))),
    }
}

/// Where a section is, from the parsed structure alone; `None` for a part that does not
/// exist.
pub(crate) fn section_extent<'s>(root: &Part, section: &'s Section) -> Option<Extent<'s>> {
    let path: Vec<u32> = section.part().iter().map(|n| n.get()).collect();
    let part = mime::find(root, &path)?;
    // HEADER, TEXT and HEADER.FIELDS of a part apply to the message it encapsulates.
    let message = || -> Option<&Part> {
        if path.is_empty() {
            Some(root)
        } else if let Kind::Message(inner) = &part.kind {
            Some(inner)
        } else {
            None
        }
    };
    Some(match section.text() {
        None if path.is_empty() => Extent::Whole,
        None => Extent::Range(part.body.clone()),
        Some(SectionText::Header) => Extent::Range(message()?.header.clone()),
        Some(SectionText::Text) => Extent::Range(message()?.body.clone()),
        Some(SectionText::Mime) => Extent::Range(part.header.clone()),
        Some(SectionText::HeaderFields(names) | SectionText::HeaderFieldsNot(names)) => {
            Extent::Fields {
                header: message()?.header.clone(),
                names: names.iter().map(|n| n.as_bytes()).collect(),
                not: matches!(section.text(), Some(SectionText::HeaderFieldsNot(_))),
            }
        }
    })
}

/// The bytes of one message, read from the store only as far as asked: a byte range when
/// the structure says where a section is, the whole message only for `BODY[]`/RFC822.
struct Content {
    store: Arc<dyn MailStore>,
    user: UserId,
    name: MailboxName,
    uid: Uid,
    /// The whole message, when it was read already.
    whole: Option<Vec<u8>>,
}

impl Content {
    fn all(&mut self) -> &[u8] {
        if self.whole.is_none() {
            let read = super::blocking(|| {
                self.store
                    .read(&self.user, &self.name, self.uid, ReadPart::Whole)
            });
            self.whole = Some(read.unwrap_or_default());
        }
        self.whole.as_deref().unwrap_or_default()
    }

    fn range(&mut self, r: Range<usize>) -> Vec<u8> {
        if let Some(whole) = &self.whole {
            return whole.get(r).unwrap_or_default().to_vec();
        }
        let part = ReadPart::Range {
            start: r.start as u64,
            len: r.len() as u64,
        };
        super::blocking(|| self.store.read(&self.user, &self.name, self.uid, part))
            .unwrap_or_default()
    }

    /// A section's octets, only the `partial` window of them where that can be read alone.
    fn section(&mut self, extent: Extent<'_>, partial: Option<(u64, u64)>) -> Vec<u8> {
        let window = |bytes: &[u8]| match partial {
            Some((offset, length)) => partial_of(bytes, offset, length).to_vec(),
            None => bytes.to_vec(),
        };
        match extent {
            Extent::Whole => window(self.all()),
            Extent::Range(r) => {
                let r = match partial {
                    Some((offset, length)) => {
                        let start = r
                            .start
                            .saturating_add(usize::try_from(offset).unwrap_or(usize::MAX))
                            .min(r.end);
                        let len = usize::try_from(length).unwrap_or(usize::MAX);
                        start..start.saturating_add(len).min(r.end)
                    }
                    None => r,
                };
                self.range(r)
            }
            Extent::Fields { header, names, not } => {
                window(&mime::header_fields(&self.range(header), &names, not))
            }
        }
    }
}

/// The decoded content of a part for BINARY; `Err` for an encoding we cannot undo.
fn decode_part(content: &mut Content, part: &Part) -> Result<Vec<u8>, ()> {
    let body = &content.range(part.body.clone())[..];
    let encoding = part
        .encoding
        .as_deref()
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    match encoding.as_str() {
        "7bit" | "8bit" | "binary" => Ok(body.to_vec()),
        "base64" => {
            let clean: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(&clean)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&clean))
                .map_err(|_| ())
        }
        "quoted-printable" => Ok(quoted_printable(body)),
        _ => Err(()),
    }
}

/// RFC 2045 §6.7 decoding; malformed escapes are kept as they are.
fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let hex = |b: u8| (b as char).to_digit(16);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == b'=' {
            match (body.get(i + 1), body.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => i += 3,
                (Some(b'\n'), _) => i += 2,
                (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                    let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                    out.push(v as u8);
                    i += 3;
                }
                _ => {
                    out.push(b);
                    i += 1;
                }
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

fn partial_of(bytes: &[u8], offset: u64, length: u64) -> &[u8] {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let len = usize::try_from(length).unwrap_or(usize::MAX);
    &bytes[start..start.saturating_add(len).min(bytes.len())]
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn fetch(
        &mut self,
        uid_mode: bool,
        set: &SequenceSet,
        items: &FetchItems,
        changed_since: Option<NzNumber64>,
        vanished: bool,
        conn: &mut Conn,
    ) -> Reply {
        let (user, sel, found) = match self.chosen(uid_mode, set) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let (name, read_only, validity) = (sel.name.clone(), sel.read_only, sel.uid_validity);
        let mut attrs: Vec<FetchAttribute> = match items {
            FetchItems::All => vec![
                FetchAttribute::Flags,
                FetchAttribute::InternalDate,
                FetchAttribute::Rfc822Size,
                FetchAttribute::Envelope,
            ],
            FetchItems::Fast => vec![
                FetchAttribute::Flags,
                FetchAttribute::InternalDate,
                FetchAttribute::Rfc822Size,
            ],
            FetchItems::Full => vec![
                FetchAttribute::Flags,
                FetchAttribute::InternalDate,
                FetchAttribute::Rfc822Size,
                FetchAttribute::Envelope,
                FetchAttribute::Body,
            ],
            FetchItems::Attributes(a) => a.to_vec(),
        };
        // RFC 3501 §6.4.8: UID FETCH always returns the UID.
        if uid_mode && !attrs.contains(&FetchAttribute::Uid) {
            attrs.insert(0, FetchAttribute::Uid);
        }
        // RFC 7162 §3.1: CHANGEDSINCE and MODSEQ enable CONDSTORE, and then every FETCH
        // carries MODSEQ.
        if changed_since.is_some() || attrs.contains(&FetchAttribute::ModSeq) {
            self.condstore = true;
        }
        if changed_since.is_some() && !attrs.contains(&FetchAttribute::ModSeq) {
            attrs.push(FetchAttribute::ModSeq);
        }
        let view = match super::blocking(|| self.app.store.open(&user, &name)) {
            Ok(v) => v,
            Err(e) => return Reply::store_error(&e),
        };
        // RFC 7162 §3.2.6: UID FETCH (CHANGEDSINCE m VANISHED) first lists the UIDs in the
        // set expunged since m.
        if let (true, true, Some(since)) = (vanished && self.qresync, uid_mode, changed_since) {
            let largest = view.messages.last().map_or(0, |m| m.uid.get());
            let changes = super::blocking(|| {
                self.app
                    .store
                    .changes_since(&user, &name, maildir_store::ModSeq::new(since.get()))
            });
            let gone = match changes {
                Ok(c) if !c.vanished_complete => {
                    let present: Vec<_> = view.messages.iter().map(|m| m.uid).collect();
                    super::selected::absent_uids(&present, c.uid_next, Some(set))
                }
                Ok(c) => super::selected::uid_set(
                    &c.vanished
                        .into_iter()
                        .filter(|u| set.contains(u.get(), largest))
                        .collect::<Vec<_>>(),
                ),
                Err(_) => None,
            };
            if let Some(uids) = gone {
                self.data(Data::Vanished {
                    earlier: true,
                    uids,
                });
            }
        }
        let content = attrs.iter().any(needs_content);
        let whole_body = super::fetch_stream::whole_body(&attrs);
        let mark_seen = !read_only && attrs.iter().any(sets_seen);
        let mut unknown_cte = false;
        for (seq, uid) in found {
            let Some(meta) = view.get(uid) else {
                continue;
            };
            if changed_since.is_some_and(|cs| meta.modseq.get() <= cs.get()) {
                continue;
            }
            // A large message whose whole body is the only content wanted is streamed in
            // chunks after the other items, never read whole.
            let stream = whole_body
                .filter(|_| meta.size >= super::fetch_stream::STREAM_THRESHOLD)
                .and_then(|wanted| {
                    let start = self.stream_start(&user, &name, uid, wanted.0)?;
                    Some((wanted, start))
                });
            let content = content && stream.is_none();
            // The structure from the store's record (or parsed once, reading the message);
            // after that only the byte ranges the items need are read.
            let (root, whole) = if content {
                let (store, parsed) = (&*self.app.store, &self.app.parse_cache);
                let loaded =
                    super::blocking(|| parsed.load(store, &user, &name, validity.get(), uid));
                match loaded {
                    Ok((structure, whole)) => (Some(structure), whole),
                    Err(_) => continue,
                }
            } else {
                (None, None)
            };
            let mut data = Content {
                store: Arc::clone(&self.app.store),
                user: user.clone(),
                name: name.clone(),
                uid,
                whole,
            };
            let mut flags = meta.flags.clone();
            let mut ms = meta.modseq;
            let mut flags_changed = false;
            if mark_seen && !flags.contains(SystemFlag::Seen) {
                // RFC 3501 §6.4.5: BODY[section] (not PEEK) sets \Seen.
                let change = FlagChange::Add(Flags::new().with(SystemFlag::Seen));
                if let Ok(outcome) = super::blocking(|| {
                    self.app
                        .store
                        .store_flags(&user, &name, &[uid], &change, None)
                }) && let Some(update) = outcome.updated.first()
                {
                    flags = update.flags.clone();
                    ms = update.modseq;
                    flags_changed = true;
                    if let Some(sel) = self.selected.as_mut() {
                        sel.known.insert(uid, (flags.clone(), ms));
                    }
                }
            }
            let mut out = Vec::new();
            for attr in &attrs {
                let item = match attr {
                    FetchAttribute::Flags => Some(FetchData::Flags(to_imap(&flags))),
                    FetchAttribute::Uid => NonZeroU32::new(uid.get()).map(FetchData::Uid),
                    FetchAttribute::InternalDate => {
                        dates::to_imap(meta.internal_date).map(FetchData::InternalDate)
                    }
                    FetchAttribute::Rfc822Size => Number64::try_from(meta.size)
                        .ok()
                        .map(FetchData::Rfc822Size),
                    FetchAttribute::ModSeq => modseq(ms).map(FetchData::ModSeq),
                    FetchAttribute::Envelope => root.as_ref().map(|s| {
                        let header = s.envelope_header(&s.root);
                        FetchData::Envelope(Box::new(envelope::envelope(header)))
                    }),
                    FetchAttribute::BodyStructure => root.as_ref().map(|s| {
                        FetchData::BodyStructure(Box::new(envelope::body_structure(
                            s, &s.root, true,
                        )))
                    }),
                    FetchAttribute::Body => root.as_ref().map(|s| {
                        FetchData::Body(Box::new(envelope::body_structure(s, &s.root, false)))
                    }),
                    FetchAttribute::Rfc822 => Some(FetchData::Rfc822(nstring(data.all()))),
                    FetchAttribute::Rfc822Header => root.as_ref().map(|s| {
                        FetchData::Rfc822Header(nstring(&data.range(s.root.header.clone())))
                    }),
                    FetchAttribute::Rfc822Text => root
                        .as_ref()
                        .map(|s| FetchData::Rfc822Text(nstring(&data.range(s.root.body.clone())))),
                    FetchAttribute::BodySection {
                        section, partial, ..
                    } => root.as_ref().map(|s| {
                        let window = partial.as_ref().map(|p| (p.offset.get(), p.length.get()));
                        let bytes = section_extent(&s.root, section)
                            .map(|extent| data.section(extent, window))
                            .unwrap_or_default();
                        FetchData::BodySection {
                            section: section.clone(),
                            origin: partial.as_ref().map(|p| p.offset),
                            data: nstring(&bytes),
                        }
                    }),
                    FetchAttribute::Binary { part, partial, .. } => {
                        let path: Vec<u32> = part.iter().map(|n| n.get()).collect();
                        match root.as_ref().and_then(|s| mime::find(&s.root, &path)) {
                            Some(p) => match decode_part(&mut data, p) {
                                Ok(decoded) => {
                                    let bytes = match partial {
                                        Some(pa) => {
                                            partial_of(&decoded, pa.offset.get(), pa.length.get())
                                                .to_vec()
                                        }
                                        None => decoded,
                                    };
                                    Some(FetchData::Binary {
                                        part: part.clone(),
                                        data: Some(BinaryData::Literal8(Literal8 {
                                            data: bytes,
                                            mode: LiteralMode::Sync,
                                        })),
                                    })
                                }
                                Err(()) => {
                                    unknown_cte = true;
                                    None
                                }
                            },
                            None => Some(FetchData::Binary {
                                part: part.clone(),
                                data: None,
                            }),
                        }
                    }
                    FetchAttribute::BinarySize { part } => {
                        let path: Vec<u32> = part.iter().map(|n| n.get()).collect();
                        root.as_ref()
                            .and_then(|s| mime::find(&s.root, &path))
                            .and_then(|p| decode_part(&mut data, p).ok())
                            .and_then(|d| Number64::try_from(d.len() as u64).ok())
                            .map(|size| FetchData::BinarySize {
                                part: part.clone(),
                                size,
                            })
                    }
                };
                out.extend(item);
            }
            if flags_changed && !attrs.contains(&FetchAttribute::Flags) {
                out.push(FetchData::Flags(to_imap(&flags)));
            }
            if self.condstore && !attrs.contains(&FetchAttribute::ModSeq) && flags_changed {
                out.extend(modseq(ms).map(FetchData::ModSeq));
            }
            if let Some((wanted, start)) = stream {
                let body = super::fetch_stream::StreamedBody {
                    user: &user,
                    name: &name,
                    uid,
                    seq,
                    size: meta.size,
                    start,
                };
                if !self.stream_body(conn, body, &out, wanted).await {
                    return Reply::no("connection failed");
                }
                continue;
            }
            if let Ok(items) = NonEmpty::try_from(out) {
                self.data(Data::Fetch { seq, items });
            }
            self.flush(conn).await;
            if conn.is_broken() {
                break;
            }
        }
        if unknown_cte {
            // RFC 3516 §4.3: a content-transfer-encoding the server cannot decode.
            return Reply::no("unknown content-transfer-encoding").simple(SimpleCode::UnknownCte);
        }
        Reply::ok("FETCH completed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_known_answers() {
        assert_eq!(quoted_printable(b"a=3Db=\r\nc"), b"a=bc");
        assert_eq!(quoted_printable(b"=ZZ="), b"=ZZ=");
    }

    #[test]
    fn partial_known_answers() {
        assert_eq!(partial_of(b"hello", 1, 3), b"ell");
        assert_eq!(partial_of(b"hello", 10, 3), b"");
        assert_eq!(partial_of(b"hello", 3, u64::MAX), b"lo");
    }

    #[test]
    fn sections_of_a_message() {
        let msg = b"Subject: s\r\nFrom: f\r\n\r\nbody\r\n";
        let root = mime::parse(msg);
        let text = Section::new(Vec::new(), Some(SectionText::Text)).unwrap(); // Unwrap: valid.
        assert_eq!(
            section_bytes(msg, &root, &text).as_deref(),
            Some(&b"body\r\n"[..])
        );
        let one = Section::new(vec![NonZeroU32::MIN], None).unwrap(); // Unwrap: valid.
        assert_eq!(
            section_bytes(msg, &root, &one).as_deref(),
            Some(&b"body\r\n"[..])
        );
        let header = Section::new(Vec::new(), Some(SectionText::Header)).unwrap(); // Unwrap: valid.
        assert_eq!(
            section_bytes(msg, &root, &header).as_deref(),
            Some(&b"Subject: s\r\nFrom: f\r\n\r\n"[..])
        );
    }
}
