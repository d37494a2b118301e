//! Per-user submission rate limits: messages and recipients per hour, in fixed one-hour
//! windows (Postfix's anvil counts per client in a similar time unit).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use maildir_store::UserId;

const WINDOW: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy)]
struct Counts {
    since: Instant,
    messages: u32,
    recipients: u32,
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A MAIL command.
    Message,
    /// A RCPT command.
    Recipient,
}

/// Counters per authenticated user.
#[derive(Debug)]
pub struct RateLimiter {
    max_messages: u32,
    max_recipients: u32,
    counts: Mutex<HashMap<UserId, Counts>>,
}

impl RateLimiter {
    /// Limits per hour.
    pub fn new(max_messages: u32, max_recipients: u32) -> Self {
        Self {
            max_messages,
            max_recipients,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one `unit` for `user`; `false` (and nothing counted) when over the limit.
    pub fn take(&self, user: &UserId, unit: Unit, now: Instant) -> bool {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        // Forget finished windows so the table stays as small as the set of active users.
        if counts.len() > 10_000 {
            counts.retain(|_, c| now.duration_since(c.since) < WINDOW);
        }
        let c = counts.entry(user.clone()).or_insert(Counts {
            since: now,
            messages: 0,
            recipients: 0,
        });
        if now.duration_since(c.since) >= WINDOW {
            *c = Counts {
                since: now,
                messages: 0,
                recipients: 0,
            };
        }
        let (n, max) = match unit {
            Unit::Message => (&mut c.messages, self.max_messages),
            Unit::Recipient => (&mut c.recipients, self.max_recipients),
        };
        if *n >= max {
            return false;
        }
        *n += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_user_and_window() {
        let r = RateLimiter::new(2, 1);
        let (a, b) = (UserId::new("a").unwrap(), UserId::new("b").unwrap());
        let t = Instant::now();
        assert!(r.take(&a, Unit::Message, t));
        assert!(r.take(&a, Unit::Message, t));
        assert!(!r.take(&a, Unit::Message, t));
        assert!(r.take(&b, Unit::Message, t));
        assert!(r.take(&a, Unit::Recipient, t));
        assert!(!r.take(&a, Unit::Recipient, t));
        assert!(r.take(&a, Unit::Message, t + WINDOW));
    }
}
