//! The storage trait the server programs against.

use std::io::Read;

use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    types::{
        AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagChange, MailboxInfo,
        MailboxView, ModSeq, Pop3Entry, QuotaUsage, ReadPart, SpecialUse, StoreOutcome, Uid,
        UserId,
    },
};

/// Blocking, coarse-grained mail storage for many users.
///
/// Every call is one whole operation and is safe to make from several threads, processes and
/// (for the Maildir store on a shared filesystem) hosts at once: nothing correctness-critical
/// lives only in one process's memory. Async callers run calls on a blocking pool.
///
/// Contract shared by every implementation (checked by [`crate::conformance`]):
/// - `INBOX` always exists for a user; it cannot be deleted, and renaming it moves its
///   messages to the new mailbox and leaves it empty (RFC 3501 §6.3.5).
/// - UIDs only grow; a UID is never given to two messages; UIDVALIDITY survives renames.
/// - A call that returns `Ok` after changing messages has made the change durable (for
///   Maildir: files and directory entries fsynced; flag changes as documented in
///   [`crate::maildir`]).
/// - Each message flag change, new message and expunge gets a fresh modseq, larger than every
///   earlier one in that mailbox.
/// - A mailbox holds at most 26 distinct keywords (the Maildir file-name alphabet); asking for
///   more is [`StoreError::TooManyKeywords`].
pub trait MailStore: Send + Sync {
    /// Every mailbox of the user, INBOX first, then by name.
    fn list_mailboxes(&self, user: &UserId) -> Result<Vec<MailboxInfo>, StoreError>;

    /// Creates a mailbox (its missing parents too), optionally marked special-use.
    fn create_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError>;

    /// Deletes a mailbox without children, with its messages.
    fn delete_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError>;

    /// Renames a mailbox and all its children, keeping UIDVALIDITY and UIDs. Renaming INBOX
    /// creates `to` and moves INBOX's messages into it (new UIDs there, RFC 3501 §6.3.5);
    /// INBOX stays, empty, with its children. Nothing can be renamed to INBOX.
    fn rename_mailbox(
        &self,
        user: &UserId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<(), StoreError>;

    /// Subscribes (`true`) or unsubscribes. The mailbox need not exist (RFC 3501 §6.3.6).
    fn set_subscribed(
        &self,
        user: &UserId,
        name: &MailboxName,
        subscribed: bool,
    ) -> Result<(), StoreError>;

    /// Every name the user is subscribed to, sorted, whether or not a mailbox of that name
    /// exists: RFC 3501 §6.3.6 "The server MUST NOT unilaterally remove an existing mailbox
    /// name from the subscription list even if a mailbox by that name no longer exists", and
    /// LIST (SUBSCRIBED) reports those as `\NonExistent` (RFC 5258 §3.1).
    fn subscriptions(&self, user: &UserId) -> Result<Vec<MailboxName>, StoreError>;

    /// The current state of a mailbox.
    fn open(&self, user: &UserId, name: &MailboxName) -> Result<MailboxView, StoreError>;

    /// Stores the bytes read from `message` (streamed, never held whole) and returns its UID
    /// once it is durable.
    fn append(
        &self,
        user: &UserId,
        name: &MailboxName,
        message: &mut dyn Read,
        request: &AppendRequest,
    ) -> Result<Uid, StoreError>;

    /// Copies messages to another mailbox (RFC 4315 COPYUID in the result).
    fn copy(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError>;

    /// Moves messages (RFC 6851): each message is in exactly one of the two mailboxes at every
    /// moment, including after a crash.
    fn move_messages(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError>;

    /// Changes flags of the given messages. With `unchanged_since`, messages whose modseq is
    /// larger are left alone and reported in [`StoreOutcome::modified`] (RFC 7162 §3.1.3).
    fn store_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        change: &FlagChange,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreOutcome, StoreError>;

    /// Removes messages; returns the UIDs removed, ascending.
    fn expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        which: &ExpungeSelector,
    ) -> Result<Vec<Uid>, StoreError>;

    /// Reads a message, or part of it. Messages are presented with CRLF line endings (bare
    /// LFs in stored files, as Dovecot writes them, are expanded) and [`crate::MessageMeta::size`]
    /// counts those bytes; ranges and the header are taken from that form.
    fn read(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        part: ReadPart,
    ) -> Result<Vec<u8>, StoreError>;

    /// What changed after `since`, including changes made by other processes.
    fn changes_since(
        &self,
        user: &UserId,
        name: &MailboxName,
        since: ModSeq,
    ) -> Result<ChangeSet, StoreError>;

    /// Messages and bytes across all of the user's mailboxes.
    fn quota_usage(&self, user: &UserId) -> Result<QuotaUsage, StoreError>;

    /// INBOX as POP3 sees it: stable UIDLs, stable order.
    fn pop3_view(&self, user: &UserId) -> Result<Vec<Pop3Entry>, StoreError>;

    /// The whole message as a stream: the same bytes as [`ReadPart::Whole`] from
    /// [`MailStore::read`], without holding the message in memory where the store can avoid
    /// it (POP3 RETR of a 50 MB message). The default reads the message whole.
    fn read_stream(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        let message = self.read(user, name, uid, ReadPart::Whole)?;
        Ok(Box::new(std::io::Cursor::new(message)))
    }

    /// The structure record cached for a message by [`MailStore::cache_structure`], if one
    /// is kept and still matches the message. The record is opaque to the store: the server
    /// keeps its parsed MIME tree (part offsets, types, envelope fields) there so a second
    /// FETCH, in this or any other process, does not parse the message again. The default
    /// keeps nothing.
    fn cached_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let _ = (user, name, uid);
        Ok(None)
    }

    /// Keeps `record` as the structure of a message (see [`MailStore::cached_structure`]).
    /// A cache: a store may drop records at any time (expunged message, corrupt cache file,
    /// a record over [`MAX_STRUCTURE_RECORD`] bytes), and a failure to keep one is not an
    /// error of the message. The default keeps nothing.
    fn cache_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        record: &[u8],
    ) -> Result<(), StoreError> {
        let _ = (user, name, uid, record);
        Ok(())
    }
}

/// Largest structure record a store keeps (1 MiB): a message split into the parser's maximum
/// number of parts still fits; anything larger is not cached.
pub const MAX_STRUCTURE_RECORD: usize = 1 << 20;

/// [`with_crlf`] as a stream: every bare LF read from `inner` comes out as CRLF.
#[derive(Debug)]
pub(crate) struct CrlfReader<R> {
    inner: R,
    /// The last byte read from `inner` was CR.
    after_cr: bool,
    /// A LF whose CR has been emitted but not the LF itself.
    pending_lf: bool,
    /// Reused read buffer.
    scratch: Vec<u8>,
}

impl<R: Read> CrlfReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            after_cr: false,
            pending_lf: false,
            scratch: Vec::new(),
        }
    }
}

impl<R: Read> Read for CrlfReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        if self.pending_lf && !buf.is_empty() {
            buf[0] = b'\n';
            self.pending_lf = false;
            n = 1;
        }
        let room = buf.len() - n;
        if room == 0 {
            return Ok(n);
        }
        // At most half the room, so each byte can grow into two (at least one byte).
        self.scratch.resize((room / 2).max(1), 0);
        let got = self.inner.read(&mut self.scratch)?;
        for &b in &self.scratch[..got] {
            if b == b'\n' && !self.after_cr {
                buf[n] = b'\r';
                n += 1;
                if n == buf.len() {
                    // Only with one byte of room: the LF goes out on the next call.
                    self.pending_lf = true;
                    self.after_cr = false;
                    continue;
                }
            }
            buf[n] = b;
            n += 1;
            self.after_cr = b == b'\r';
        }
        Ok(n)
    }
}

/// RENAME of INBOX (RFC 3501 §6.3.5): "It moves all messages in INBOX to a new mailbox with
/// the given name, leaving INBOX empty." INBOX keeps its UIDVALIDITY and UIDNEXT; its
/// children stay where they are. Each message moves atomically (RFC 6851); a message
/// delivered while the rename runs may stay in INBOX.
pub(crate) fn rename_inbox<S: MailStore + ?Sized>(
    store: &S,
    user: &UserId,
    to: &MailboxName,
) -> Result<(), StoreError> {
    if to.is_inbox() {
        return Err(StoreError::InboxIsSpecial);
    }
    store.create_mailbox(user, to, None)?;
    let inbox = MailboxName::inbox();
    let uids: Vec<Uid> = store
        .open(user, &inbox)?
        .messages
        .iter()
        .map(|m| m.uid)
        .collect();
    if !uids.is_empty() {
        store.move_messages(user, &inbox, &uids, to)?;
    }
    Ok(())
}

/// The checks every RENAME makes before touching anything.
pub(crate) fn check_rename(from: &MailboxName, to: &MailboxName) -> Result<(), StoreError> {
    if from.is_inbox() || to.is_inbox() {
        return Err(StoreError::InboxIsSpecial);
    }
    if to.is_below(from) {
        return Err(StoreError::RenameIntoSelf);
    }
    Ok(())
}

/// The requested part of a whole (CRLF) message.
pub(crate) fn select_part(message: Vec<u8>, part: ReadPart) -> Result<Vec<u8>, StoreError> {
    match part {
        ReadPart::Whole => Ok(message),
        ReadPart::Header => Ok(header_of(&message).to_vec()),
        ReadPart::Range { start, len } => slice_range(&message, start, len),
    }
}

/// `message` with every bare LF turned into CRLF (IMAP and POP3 speak CRLF; Dovecot stores
/// LF-only files and presents them this way, so we do too).
pub(crate) fn with_crlf(message: Vec<u8>) -> Vec<u8> {
    let bare = message
        .iter()
        .enumerate()
        .filter(|(i, b)| **b == b'\n' && (*i == 0 || message.get(i - 1) != Some(&b'\r')))
        .count();
    if bare == 0 {
        return message;
    }
    let mut out = Vec::with_capacity(message.len() + bare);
    let mut prev = 0u8;
    for b in message {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// Returns the header of `message`: bytes up to and including the first empty line, or the
/// whole message when it has no body.
pub(crate) fn header_of(message: &[u8]) -> &[u8] {
    let mut line_start = 0;
    for (i, &b) in message.iter().enumerate() {
        if b == b'\n' {
            let line = message.get(line_start..i).unwrap_or_default();
            if line.is_empty() || line == b"\r" {
                return message.get(..=i).unwrap_or(message);
            }
            line_start = i + 1;
        }
    }
    message
}

/// Applies a byte range to a whole message (RFC 3501 partial FETCH semantics).
pub(crate) fn slice_range(message: &[u8], start: u64, len: u64) -> Result<Vec<u8>, StoreError> {
    let start = usize::try_from(start).map_err(|_| StoreError::RangeOutOfBounds)?;
    if start > message.len() {
        return Err(StoreError::RangeOutOfBounds);
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let end = start.saturating_add(len).min(message.len());
    Ok(message.get(start..end).unwrap_or_default().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_reader_matches_with_crlf() {
        for input in [&b""[..], b"a\nb\r\nc\n\n", b"\n\r\n\r\r\n\n", b"no newline"] {
            for step in [1, 2, 3, 7, 64] {
                let mut r = CrlfReader::new(input);
                let mut out = Vec::new();
                let mut buf = vec![0u8; step];
                loop {
                    let n = r.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
                assert_eq!(
                    out,
                    with_crlf(input.to_vec()),
                    "{input:?} in steps of {step}"
                );
            }
        }
    }

    #[test]
    fn crlf_known_answers() {
        assert_eq!(with_crlf(b"a\nb\r\nc\n".to_vec()), b"a\r\nb\r\nc\r\n");
        assert_eq!(with_crlf(b"\n".to_vec()), b"\r\n");
        assert_eq!(with_crlf(b"x\r\n".to_vec()), b"x\r\n");
        assert_eq!(with_crlf(Vec::new()), b"");
    }

    #[test]
    fn header_known_answers() {
        assert_eq!(header_of(b"A: b\r\n\r\nbody"), b"A: b\r\n\r\n");
        assert_eq!(header_of(b"A: b\n\nbody"), b"A: b\n\n");
        assert_eq!(header_of(b"A: b\r\n"), b"A: b\r\n");
        assert_eq!(header_of(b"\r\nbody"), b"\r\n");
        assert_eq!(header_of(b""), b"");
    }

    #[test]
    fn range_known_answers() {
        assert_eq!(slice_range(b"hello", 1, 3).unwrap(), b"ell");
        assert_eq!(slice_range(b"hello", 3, 100).unwrap(), b"lo");
        assert_eq!(slice_range(b"hello", 5, 1).unwrap(), b"");
        assert!(slice_range(b"hello", 6, 1).is_err());
        assert_eq!(slice_range(b"hello", 0, u64::MAX).unwrap(), b"hello");
    }
}
