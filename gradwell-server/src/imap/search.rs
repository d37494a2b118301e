//! SEARCH and UID SEARCH (RFC 3501 §6.4.4) with ESEARCH (RFC 4731), SEARCHRES (RFC 5182)
//! and MODSEQ (RFC 7162), and SORT (RFC 5256). Message content is read only when a key
//! needs it, and header keys look at the header block only.

use std::{cmp::Ordering, num::NonZeroU32};

use imap_proto::types::{
    core::{AString, NzNumber64, Tag},
    response::{Data, ESearchItem},
    search::{SearchKey, SearchReturnOption},
    sort::{SortCriterion, SortKey},
};
use maildir_store::{MessageMeta, ReadPart, SystemFlag, Uid};

use super::{
    Reply, Session, dates,
    mime::{self, header_end},
    selected::{Selected, uid_set},
};

/// Lazily loaded message content for one message.
struct Candidate<'a> {
    session: &'a Session,
    sel: &'a Selected,
    seq: u32,
    meta: &'a MessageMeta,
    data: Option<Vec<u8>>,
}

impl Candidate<'_> {
    fn data(&mut self) -> &[u8] {
        if self.data.is_none() {
            let loaded = self
                .session
                .user()
                .ok()
                .and_then(|u| {
                    self.session
                        .app
                        .store
                        .read(&u, &self.sel.name, self.meta.uid, ReadPart::Whole)
                        .ok()
                })
                .unwrap_or_default();
            self.data = Some(loaded);
        }
        self.data.as_deref().unwrap_or_default()
    }

    fn header(&mut self) -> &[u8] {
        let data = self.data();
        &data[..header_end(data)]
    }

    fn header_value(&mut self, name: &str) -> String {
        let fields = mime::fields(self.header());
        fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The Date: header's day, for SENT* keys.
    fn sent_day(&mut self) -> Option<i64> {
        let value = self.header_value("Date");
        let parsed = mail_parser::DateTime::parse_rfc822(&value)?;
        Some(dates::days_from_civil(
            i64::from(parsed.year),
            u32::from(parsed.month),
            u32::from(parsed.day),
        ))
    }
}

/// Case-insensitive substring test (RFC 3501 §6.4.4: "case-insensitive substring").
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    let needle: Vec<u8> = needle.to_ascii_lowercase();
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(&needle))
}

fn matches(key: &SearchKey, c: &mut Candidate<'_>, saved: &[Uid], largest: (u32, u32)) -> bool {
    let flag = |f| c.meta.flags.contains(f);
    match key {
        SearchKey::All => true,
        SearchKey::Answered => flag(SystemFlag::Answered),
        SearchKey::Deleted => flag(SystemFlag::Deleted),
        SearchKey::Draft => flag(SystemFlag::Draft),
        SearchKey::Flagged => flag(SystemFlag::Flagged),
        SearchKey::Seen | SearchKey::Old => flag(SystemFlag::Seen),
        SearchKey::Unanswered => !flag(SystemFlag::Answered),
        SearchKey::Undeleted => !flag(SystemFlag::Deleted),
        SearchKey::Undraft => !flag(SystemFlag::Draft),
        SearchKey::Unflagged => !flag(SystemFlag::Flagged),
        SearchKey::Unseen => !flag(SystemFlag::Seen),
        // No session ever sees a message as recent (RFC 9051 dropped \Recent).
        SearchKey::New | SearchKey::Recent => false,
        SearchKey::Keyword(k) => c
            .meta
            .flags
            .keywords()
            .any(|x| x.as_str().eq_ignore_ascii_case(k.as_str())),
        SearchKey::Unkeyword(k) => !c
            .meta
            .flags
            .keywords()
            .any(|x| x.as_str().eq_ignore_ascii_case(k.as_str())),
        SearchKey::Larger(n) => c.meta.size > n.get(),
        SearchKey::Smaller(n) => c.meta.size < n.get(),
        SearchKey::Before(d) => dates::day_of(c.meta.internal_date) < dates::day_of_date(d),
        SearchKey::On(d) => dates::day_of(c.meta.internal_date) == dates::day_of_date(d),
        SearchKey::Since(d) => dates::day_of(c.meta.internal_date) >= dates::day_of_date(d),
        SearchKey::SentBefore(d) => c.sent_day().is_some_and(|s| s < dates::day_of_date(d)),
        SearchKey::SentOn(d) => c.sent_day().is_some_and(|s| s == dates::day_of_date(d)),
        SearchKey::SentSince(d) => c.sent_day().is_some_and(|s| s >= dates::day_of_date(d)),
        SearchKey::From(v) => contains(c.header_value("From").as_bytes(), v.as_bytes()),
        SearchKey::To(v) => contains(c.header_value("To").as_bytes(), v.as_bytes()),
        SearchKey::Cc(v) => contains(c.header_value("Cc").as_bytes(), v.as_bytes()),
        SearchKey::Bcc(v) => contains(c.header_value("Bcc").as_bytes(), v.as_bytes()),
        SearchKey::Subject(v) => contains(c.header_value("Subject").as_bytes(), v.as_bytes()),
        SearchKey::Header(name, v) => {
            let name = String::from_utf8_lossy(name.as_bytes()).into_owned();
            let fields = mime::fields(c.header());
            // RFC 3501 §6.4.4: an empty value matches every message with the field.
            fields.iter().any(|(n, value)| {
                n.eq_ignore_ascii_case(&name) && contains(value.as_bytes(), v.as_bytes())
            })
        }
        SearchKey::Body(v) => {
            let data = c.data();
            let body = &data[header_end(data)..];
            contains(body, v.as_bytes())
        }
        SearchKey::Text(v) => contains(c.data(), v.as_bytes()),
        SearchKey::Uid(set) => match set {
            imap_proto::types::sequence::SequenceSet::LastResult => saved.contains(&c.meta.uid),
            set => set.contains(c.meta.uid.get(), largest.1),
        },
        SearchKey::SequenceSet(set) => match set {
            imap_proto::types::sequence::SequenceSet::LastResult => saved.contains(&c.meta.uid),
            set => set.contains(c.seq, largest.0),
        },
        SearchKey::Not(k) => !matches(k, c, saved, largest),
        SearchKey::Or(a, b) => matches(a, c, saved, largest) || matches(b, c, saved, largest),
        SearchKey::And(keys) => keys.iter().all(|k| matches(k, c, saved, largest)),
        SearchKey::ModSeq { value, .. } => c.meta.modseq.get() >= value.get(),
    }
}

fn uses_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSeq { .. } => true,
        SearchKey::Not(k) => uses_modseq(k),
        SearchKey::Or(a, b) => uses_modseq(a) || uses_modseq(b),
        SearchKey::And(keys) => keys.iter().any(uses_modseq),
        _ => false,
    }
}

impl Session {
    /// A BAD reply when a charset label conflicts with UTF8=ACCEPT (RFC 6855 §3): "Once an
    /// IMAP client has enabled UTF-8 support with the "ENABLE UTF8=ACCEPT" command, it MUST
    /// NOT issue a "SEARCH" command that contains a charset specification. If an IMAP server
    /// receives such a "SEARCH" command in that situation, it SHOULD reject the command with
    /// a "BAD" response". Erratum 4029 extends it: "For commands with a mandatory charset
    /// field, such as SORT and THREAD, servers SHOULD reject charset values other than UTF-8
    /// with a "BAD" response". `mandatory` marks SORT and THREAD.
    pub(super) fn charset_conflict(
        &self,
        charset: Option<&AString>,
        mandatory: bool,
    ) -> Option<Reply> {
        let charset = charset?;
        if !self.proto.utf8_accept()
            || (mandatory && charset.as_bytes().eq_ignore_ascii_case(b"UTF-8"))
        {
            return None;
        }
        Some(Reply::bad("charset conflicts with UTF8=ACCEPT"))
    }

    /// The (sequence number, meta) of every message matching all `criteria`.
    fn matching(&self, criteria: &[SearchKey]) -> Result<Vec<(u32, MessageMeta)>, Reply> {
        let (user, sel) = match (self.user(), self.selected.as_ref()) {
            (Ok(u), Some(s)) => (u, s),
            _ => return Err(Reply::bad("no mailbox selected")),
        };
        let view = self
            .app
            .store
            .open(&user, &sel.name)
            .map_err(|e| Reply::store_error(&e))?;
        let largest = (
            u32::try_from(sel.uids.len()).unwrap_or(u32::MAX),
            sel.uids.last().map_or(0, |u| u.get()),
        );
        let mut out = Vec::new();
        for (i, uid) in sel.uids.iter().enumerate() {
            let Some(meta) = view.get(*uid) else {
                continue;
            };
            let mut c = Candidate {
                session: self,
                sel,
                seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
                meta,
                data: None,
            };
            if criteria
                .iter()
                .all(|k| matches(k, &mut c, &self.saved_search, largest))
            {
                out.push((c.seq, meta.clone()));
            }
        }
        Ok(out)
    }

    pub(super) fn search(
        &mut self,
        tag: &Tag,
        uid_mode: bool,
        returns: Option<&[SearchReturnOption]>,
        criteria: &[SearchKey],
    ) -> Reply {
        let found = match self.matching(criteria) {
            Ok(f) => f,
            Err(r) => return r,
        };
        if criteria.iter().any(uses_modseq) {
            self.condstore = true;
        }
        let highest = found
            .iter()
            .map(|(_, m)| m.modseq.get())
            .max()
            .and_then(|m| NzNumber64::try_from(m).ok())
            .filter(|_| criteria.iter().any(uses_modseq));
        let numbers: Vec<u32> = found
            .iter()
            .map(|(s, m)| if uid_mode { m.uid.get() } else { *s })
            .collect();
        let Some(returns) = returns else {
            self.data(Data::Search {
                numbers: numbers.iter().filter_map(|n| NonZeroU32::new(*n)).collect(),
                mod_seq: highest,
            });
            return Reply::ok("SEARCH completed");
        };
        // RFC 4731 §3.1: RETURN () means RETURN (ALL).
        let all = returns.is_empty() || returns.contains(&SearchReturnOption::All);
        if returns.contains(&SearchReturnOption::Save) {
            self.saved_search = found.iter().map(|(_, m)| m.uid).collect();
            if returns.len() == 1 {
                // RFC 5182 §2.4: SAVE alone returns no ESEARCH response.
                return Reply::ok("SEARCH completed, result saved");
            }
        }
        let mut items = Vec::new();
        let nz: Vec<NonZeroU32> = numbers.iter().filter_map(|n| NonZeroU32::new(*n)).collect();
        if returns.contains(&SearchReturnOption::Min) {
            items.extend(nz.first().copied().map(ESearchItem::Min));
        }
        if returns.contains(&SearchReturnOption::Max) {
            items.extend(nz.last().copied().map(ESearchItem::Max));
        }
        if all {
            let as_uids: Vec<Uid> = numbers.iter().filter_map(|n| Uid::new(*n)).collect();
            items.extend(uid_set(&as_uids).map(ESearchItem::All));
        }
        if returns.contains(&SearchReturnOption::Count) {
            items.push(ESearchItem::Count(
                u32::try_from(numbers.len()).unwrap_or(u32::MAX),
            ));
        }
        items.extend(highest.map(ESearchItem::ModSeq));
        self.data(Data::ESearch {
            tag: Some(tag.clone()),
            uid: uid_mode,
            items,
        });
        Reply::ok("SEARCH completed")
    }

    /// The messages matching `search`, with their header fields when `header` is set.
    pub(super) fn with_headers(
        &self,
        search: &[SearchKey],
        header: bool,
    ) -> Result<Vec<Keyed>, Reply> {
        let found = self.matching(search)?;
        let (Ok(user), Some(sel)) = (self.user(), self.selected.as_ref()) else {
            return Err(Reply::bad("no mailbox selected"));
        };
        Ok(found
            .into_iter()
            .map(|(seq, meta)| {
                let fields = if header {
                    // The fields kept with the structure when FETCH parsed the message
                    // already (no message read at all), else the header read from the store.
                    let store = &*self.app.store;
                    let validity = sel.uid_validity.get();
                    match self
                        .app
                        .parse_cache
                        .known(store, &user, &sel.name, validity, meta.uid)
                    {
                        Some(s) => mime::fields(s.envelope_header(&s.root)),
                        None => store
                            .read(&user, &sel.name, meta.uid, ReadPart::Header)
                            .map(|h| mime::fields(&h))
                            .unwrap_or_default(),
                    }
                } else {
                    Vec::new()
                };
                (seq, meta, fields)
            })
            .collect())
    }

    /// SORT (RFC 5256 §3) on the base subject, addresses, dates and sizes.
    pub(super) fn sort(
        &mut self,
        uid_mode: bool,
        criteria: &[SortCriterion],
        search: &[SearchKey],
    ) -> Reply {
        let needs_header = criteria
            .iter()
            .any(|c| !matches!(c.key, SortKey::Arrival | SortKey::Size));
        let mut keyed = match self.with_headers(search, needs_header) {
            Ok(k) => k,
            Err(r) => return r,
        };
        keyed.sort_by(|a, b| {
            for c in criteria {
                let ord = compare(c.key, a, b);
                let ord = if c.reverse { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            a.0.cmp(&b.0)
        });
        let numbers = keyed
            .iter()
            .filter_map(|(s, m, _)| NonZeroU32::new(if uid_mode { m.uid.get() } else { *s }))
            .collect();
        self.data(Data::Sort(numbers));
        Reply::ok("SORT completed")
    }
}

/// A message with its sequence number and header fields.
pub(super) type Keyed = (u32, MessageMeta, Vec<(String, String)>);

fn compare(key: SortKey, a: &Keyed, b: &Keyed) -> Ordering {
    let field = |k: &Keyed, name: &str| mime::field(&k.2, name).unwrap_or("").to_owned();
    match key {
        SortKey::Arrival => a.1.internal_date.cmp(&b.1.internal_date),
        SortKey::Size => a.1.size.cmp(&b.1.size),
        SortKey::Date => sent(a).cmp(&sent(b)),
        SortKey::Subject => {
            base_subject(&field(a, "Subject")).cmp(&base_subject(&field(b, "Subject")))
        }
        SortKey::From | SortKey::DisplayFrom => {
            mailbox_of(&field(a, "From")).cmp(&mailbox_of(&field(b, "From")))
        }
        SortKey::To | SortKey::DisplayTo => {
            mailbox_of(&field(a, "To")).cmp(&mailbox_of(&field(b, "To")))
        }
        SortKey::Cc => mailbox_of(&field(a, "Cc")).cmp(&mailbox_of(&field(b, "Cc"))),
    }
}

/// The sent date in seconds; RFC 5256 §2.2: without a valid Date, the internal date.
pub(super) fn sent(k: &Keyed) -> i64 {
    mime::field(&k.2, "Date")
        .and_then(mail_parser::DateTime::parse_rfc822)
        .map(|d| d.to_timestamp())
        .unwrap_or_else(|| dates::unix_seconds(k.1.internal_date))
}

/// The first address's local part, lower case (RFC 5256 §3 "addr-mailbox").
fn mailbox_of(value: &str) -> String {
    let addr = match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value.split(',').next().unwrap_or(""),
    };
    addr.split('@')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// RFC 5256 §2.1 base subject, lower case.
pub(super) fn base_subject(subject: &str) -> String {
    super::base_subject::extract(subject).text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_is_case_insensitive() {
        assert!(contains(b"Beta Report", b"BETA REPORT"));
        assert!(contains(b"anything", b""));
        assert!(!contains(b"abc", b"abcd"));
    }

    #[test]
    fn base_subject_known_answers() {
        assert_eq!(
            base_subject("Re: [list] Fwd: Hello  World (fwd)"),
            "hello world"
        );
        assert_eq!(base_subject("plain"), "plain");
        assert_eq!(mailbox_of("Alice <Alice@x>"), "alice");
    }
}
