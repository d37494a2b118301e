//! The escalating per-IP delay after failed logins (Dovecot's auth penalty is the anchor:
//! 2 s after the first failure, doubling, at most 15 s). A success clears the address; an
//! address quiet for a while is forgotten.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Failures are forgotten after this much quiet.
const FORGET_AFTER: Duration = Duration::from_secs(300);
/// Addresses tracked at most; the oldest are dropped beyond it.
const MAX_TRACKED: usize = 100_000;

/// Failure counts per address.
#[derive(Debug)]
pub struct Penalty {
    initial: Duration,
    max: Duration,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Penalty {
    /// A table with the given first and largest delays.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failure from `ip` at `now` and returns how long to wait before answering.
    pub fn fail(&self, ip: IpAddr, now: Instant) -> Duration {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (_, at)| now.duration_since(*at) < FORGET_AFTER);
        }
        let entry = map.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) >= FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        let doublings = entry.0.saturating_sub(1).min(16);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }

    /// A successful login from `ip`.
    pub fn succeed(&self, ip: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalates_caps_and_resets() {
        let p = Penalty::new(Duration::from_secs(2), Duration::from_secs(15));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t = Instant::now();
        let delays: Vec<u64> = (0..5).map(|_| p.fail(ip, t).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 15, 15]);
        p.succeed(ip);
        assert_eq!(p.fail(ip, t).as_secs(), 2);
        assert_eq!(
            p.fail(ip, t + FORGET_AFTER).as_secs(),
            2,
            "quiet addresses are forgotten"
        );
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(p.fail(other, t).as_secs(), 2, "per address");
    }
}
