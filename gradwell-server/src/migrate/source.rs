//! What every migration source offers: one user's mailboxes and messages, with the
//! identifiers that user's mail clients already know.
//!
//! The importer reads a source through this trait only, so a Dovecot or Courier Maildir
//! tree, an mbox directory, a remote IMAP server and a remote POP3 server all go through
//! the same engine (progress journal, throttle, verification, commit at the end of each
//! mailbox). A source never writes to the target store.
//!
//! Call order for one user: [`Source::mailboxes`] once, then [`Source::messages`] for each
//! mailbox the engine still has to copy (a resumed run skips the ones its journal marks
//! done). Messages are handed over one at a time, so memory stays bounded by the largest
//! message, not by the mailbox.

use std::time::SystemTime;

use maildir_store::{Flags, MailboxName, Uid, UidValidity};

/// Why a source could not be read. The engine reports it for this user (or this mailbox)
/// and goes on with the rest of the run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The source's data is malformed (a truncated mbox, a uidlist that disagrees with the
    /// files, a broken `From ` line, a folder name that is not a valid mailbox name).
    #[error("{mailbox}: {reason}")]
    Malformed {
        /// The mailbox as the source spells it (`""` when it is not about one mailbox).
        mailbox: String,
        /// What is wrong, for the report.
        reason: String,
    },
    /// Reading files failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being read.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A remote source refused us or went away (login failed, connection dropped
    /// mid-folder, protocol error). The run may retry this user later.
    #[error("remote source: {0}")]
    Remote(String),
}

/// One mailbox as the source has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMailbox {
    /// The name in Gradwell's form (`INBOX`, `Sent`, `Archive/2024`), already decoded from
    /// the source's own layout (Maildir++ dots, `LAYOUT=fs` directories, modified UTF-7).
    pub name: MailboxName,
    /// The source's UIDVALIDITY, when it has one (Maildir, IMAP). Kept exactly, so clients
    /// do not resynchronise. `None` (mbox, POP3): the target assigns one.
    pub uid_validity: Option<UidValidity>,
    /// The source's UIDNEXT, when known: the target's UIDNEXT is raised to it, so a UID the
    /// source handed out and expunged is never reused.
    pub uid_next: Option<Uid>,
    /// Whether the user subscribed to it.
    pub subscribed: bool,
    /// How many messages the source reports, for progress and verification (`None` when
    /// only reading tells).
    pub message_count: Option<u64>,
}

/// One message as the source has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMessage {
    /// The source's UID, kept exactly when the mailbox has a UIDVALIDITY. `None` (mbox,
    /// POP3): the target assigns the next UID, in the source's order.
    pub uid: Option<Uid>,
    /// System flags and keywords.
    pub flags: Flags,
    /// INTERNALDATE (for mbox, the `From ` line's date; for POP3, the `Date:` header or
    /// the import time).
    pub internal_date: SystemTime,
    /// The POP3 UIDL clients already know, when the source recorded one that differs from
    /// what the target would derive (Dovecot's `P` record, Courier's, a remote POP3
    /// server's `UIDL`), so POP3 clients do not download everything again.
    pub pop3_uidl: Option<String>,
    /// The message's position in the source's POP3 order (Dovecot's `O` record), when set.
    pub pop3_order: Option<u32>,
    /// The message, exactly as stored (CRLF or LF line ends as the source has them).
    pub body: Vec<u8>,
}

/// A place one user's mail can be read from.
pub trait Source {
    /// Every mailbox of this user, INBOX first.
    fn mailboxes(&mut self) -> Result<Vec<SourceMailbox>, SourceError>;

    /// Every message of `mailbox`, in ascending source UID (or file) order, handed to
    /// `sink` one at a time. An error from `sink` stops the walk and is returned as is.
    fn messages(
        &mut self,
        mailbox: &SourceMailbox,
        sink: &mut dyn FnMut(SourceMessage) -> Result<(), SourceError>,
    ) -> Result<(), SourceError>;

    /// Mailboxes [`Source::mailboxes`] had to leave out (a folder name that is not UTF-8 or
    /// not a valid mailbox name), each as an error for the report, so one bad folder does
    /// not stop the user. Call after [`Source::mailboxes`]; the default has none.
    fn skipped(&mut self) -> Vec<SourceError> {
        Vec::new()
    }
}
