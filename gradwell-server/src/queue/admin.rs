//! `gradwell queue list|show|retry|hold|release|delete`: inspect and manage the outbound
//! queue from the shell while the server runs (the runner re-reads an envelope before and
//! after each attempt, so holds and deletions take effect at its next step).

use std::{io::Read, time::SystemTime};

use anyhow::Context;

use super::store::{Envelope, Queue, unix};
use crate::{config::Config, smtp::trace::rfc5322_date};

/// What to do.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Action {
    /// Every queued message: ID, age, size, sender, pending recipients.
    List,
    /// One message: its envelope, per-recipient state and header.
    Show {
        /// Queue ID.
        id: String,
    },
    /// Attempt now (clears the retry wait).
    Retry {
        /// Queue ID, or `all`.
        id: String,
    },
    /// Keep the message until released; it is not attempted meanwhile.
    Hold {
        /// Queue ID.
        id: String,
    },
    /// Undo `hold`; attempt now.
    Release {
        /// Queue ID.
        id: String,
    },
    /// Remove the message without delivery and without a DSN.
    Delete {
        /// Queue ID.
        id: String,
    },
}

fn open(config: &Config) -> anyhow::Result<Queue> {
    Queue::open_configured(config).context("opening the queue")
}

fn find(queue: &Queue, id: &str) -> anyhow::Result<Envelope> {
    queue
        .load(id)
        .with_context(|| format!("no queued message {id:?}"))
}

/// Runs `action`; `json` prints machine-readable output.
pub fn run(config: &Config, action: Action, json: bool) -> anyhow::Result<()> {
    let queue = open(config)?;
    let now = unix(SystemTime::now());
    match action {
        Action::List => {
            let all = queue.list();
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            for e in &all {
                let pending: Vec<&str> = e.pending().map(|r| r.address.as_str()).collect();
                println!(
                    "{}{} {:>8} {:>6}s <{}> -> {}",
                    e.id,
                    if e.held { "!" } else { "" },
                    e.size,
                    now.saturating_sub(e.created),
                    e.sender,
                    pending.join(", ")
                );
            }
            println!("{} message(s)", all.len());
        }
        Action::Show { id } => {
            let e = find(&queue, &id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
                return Ok(());
            }
            let at =
                |s: u64| rfc5322_date(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s));
            println!(
                "id: {}\nsender: <{}>\nqueued: {}",
                e.id,
                e.sender,
                at(e.created)
            );
            println!(
                "attempts: {}\nnext attempt: {}\nheld: {}\nsize: {}",
                e.attempts,
                at(e.next_attempt),
                e.held,
                e.size
            );
            for r in &e.recipients {
                println!(
                    "  <{}> {:?} {}",
                    r.address,
                    r.state,
                    r.last_reply.as_deref().unwrap_or("")
                );
            }
            let mut head = Vec::new();
            queue
                .open_content(&id)?
                .take(super::dsn::HEADER_LIMIT as u64)
                .read_to_end(&mut head)?;
            let text = String::from_utf8_lossy(&head);
            println!("{}", text.split("\r\n\r\n").next().unwrap_or(""));
        }
        Action::Retry { id } if id == "all" => {
            let mut n = 0;
            for mut e in queue.list() {
                e.next_attempt = now;
                queue.save(&mut e)?;
                n += 1;
            }
            report(json, "retry", &format!("{n} message(s)"))?;
        }
        Action::Retry { id } => change(&queue, &id, json, "retry", |e| e.next_attempt = now)?,
        Action::Hold { id } => change(&queue, &id, json, "hold", |e| e.held = true)?,
        Action::Release { id } => change(&queue, &id, json, "release", |e| {
            e.held = false;
            e.next_attempt = now;
        })?,
        Action::Delete { id } => {
            find(&queue, &id)?;
            queue.remove(&id)?;
            report(json, "delete", &id)?;
        }
    }
    Ok(())
}

fn change(
    queue: &Queue,
    id: &str,
    json: bool,
    verb: &str,
    f: impl FnOnce(&mut Envelope),
) -> anyhow::Result<()> {
    let mut e = find(queue, id)?;
    f(&mut e);
    queue.save(&mut e)?;
    report(json, verb, id)
}

fn report(json: bool, verb: &str, what: &str) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::json!({ "action": verb, "target": what, "ok": true })
        );
    } else {
        println!("{verb}: {what}");
    }
    Ok(())
}
