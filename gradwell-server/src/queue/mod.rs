//! The outbound queue: mail that submission accepted for other domains, kept durably until
//! the relay delivers it, it fails for good, or it grows too old.
//!
//! - [`store`]: the files. Every replica root of the mirror set gets a `.gradwell-queue`
//!   directory (a name no user id can take); each message is a `.msg` file (the content,
//!   written once) and a `.env` file (sender, per-recipient state, retry time), both written
//!   to a temporary name, fsynced and renamed, so a `kill -9` at any point leaves either
//!   the old or the new state, never a torn one.
//! - [`runner`]: the task that hands due messages to the relay, applies the retry schedule
//!   and the age bound, and sends the delivery status notification.
//! - [`dsn`]: the RFC 3464 report sent once, on final failure, to a non-null sender.
//! - [`admin`]: `gradwell queue list|show|retry|hold|release|delete`.

pub mod admin;
pub mod dsn;
pub mod runner;
pub mod store;

use anyhow::bail;
use serde::Deserialize;

/// `[queue]` in the configuration; every field has a default.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Seconds to wait after each failed attempt; the last entry repeats (default 60, 300,
    /// 900, 1800, 3600, 7200, 14400 — Postfix's backoff grows similarly to 4000 s).
    pub retry_schedule_secs: Vec<u64>,
    /// Seconds a message may stay queued before it is returned to the sender (default
    /// 432000, five days, as Postfix's `maximal_queue_lifetime`).
    pub max_age_secs: u64,
    /// Messages the queue holds at most; submission answers `452 4.3.1` beyond (default
    /// 10000).
    pub max_messages: usize,
    /// Octets the queue holds at most; submission answers `452 4.3.1` beyond (default
    /// 1 GiB).
    pub max_bytes: u64,
    /// Milliseconds between scans for due messages (default 1000); new messages are
    /// attempted at once.
    pub scan_interval_ms: u64,
    /// Deliveries in progress at once (default 20).
    pub concurrency: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            retry_schedule_secs: vec![60, 300, 900, 1800, 3600, 7200, 14400],
            max_age_secs: 5 * 24 * 3600,
            max_messages: 10_000,
            max_bytes: 1 << 30,
            scan_interval_ms: 1000,
            concurrency: 20,
        }
    }
}

impl QueueConfig {
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        if self.retry_schedule_secs.is_empty() {
            bail!("key `queue.retry_schedule_secs`: list at least one delay");
        }
        if self.concurrency == 0 {
            bail!("key `queue.concurrency`: must be at least 1");
        }
        if self.scan_interval_ms == 0 {
            bail!("key `queue.scan_interval_ms`: must be at least 1");
        }
        Ok(())
    }

    /// The delay after attempt number `attempts` (1-based) failed.
    pub fn retry_delay(&self, attempts: u32) -> u64 {
        let i = (attempts.max(1) - 1) as usize;
        self.retry_schedule_secs
            .get(i)
            .or(self.retry_schedule_secs.last())
            .copied()
            .unwrap_or(60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_follow_the_schedule_and_repeat_the_last() {
        let mut c = QueueConfig {
            retry_schedule_secs: vec![1, 5],
            ..QueueConfig::default()
        };
        assert_eq!(
            [1, 2, 3, 9].map(|n| c.retry_delay(n)),
            [1, 5, 5, 5],
            "schedule"
        );
        c.retry_schedule_secs.clear();
        assert!(c.check().is_err());
    }
}
