//! Migration: importing whole populations of mailboxes from other systems with the UIDs,
//! flags and POP3 UIDLs their clients already know, and exporting them back.
//!
//! Every kind of source implements [`source::Source`]; the [`engine`] copies what a source
//! yields into the target store.
//!
//! - Sources: [`dovecot`] (Dovecot Maildir, Maildir++ or `LAYOUT=fs`, and Courier Maildir
//!   with [`courier`]'s control files), [`mbox`].
//! - [`engine`]: one user into the target, staging name and rename per mailbox, exact
//!   identifiers, resumable and idempotent; [`report`]: what it verified.
//! - [`run`]: the `import` and `export` commands (manifest, workers, [`journal`],
//!   [`throttle`], progress); [`export`]: back to Dovecot Maildir or mbox;
//!   [`restructure`]: layouts, home paths and mirror sets, in place.

pub mod connections;
pub mod courier;
pub mod dovecot;
pub mod engine;
pub mod export;
pub mod journal;
pub mod mbox;
pub mod remote_conn;
pub mod remote_imap;
pub mod remote_job;
pub mod remote_pop3;
pub mod report;
pub mod restructure;
pub mod run;
pub mod source;
pub mod throttle;
