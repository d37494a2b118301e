//! Temporary bans of client addresses after repeated failed logins, the way fail2ban or
//! Stalwart's auto-ban work, but inside the server: `threshold` failures within `window`
//! ban the address for `initial`; every further ban of the same address doubles the time,
//! up to `max`. Banned addresses are refused at accept; bans expire on their own; trusted
//! networks are never banned. The failed-login delay ([`crate::accounts::penalty`]) is the
//! tarpit in front of this: it slows each guess, the ban stops the guessing.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use super::network::Network;

/// Addresses tracked at most; quiet ones are dropped first beyond it.
const MAX_TRACKED: usize = 100_000;

/// When and how long to ban.
#[derive(Debug, Clone)]
pub struct BanPolicy {
    /// Failures within `window` that ban an address; 0 turns bans off.
    pub threshold: u32,
    /// How far back failures count.
    pub window: Duration,
    /// The first ban's length.
    pub initial: Duration,
    /// The longest ban (repeat bans double up to this).
    pub max: Duration,
    /// Never banned (monitoring, webmail, the office).
    pub exempt: Vec<Network>,
}

#[derive(Debug)]
struct Record {
    /// Failures counted in the current window, and when it began.
    failures: u32,
    window_start: Instant,
    /// Bans so far (each doubles the next), and the end of the current one.
    bans: u32,
    banned_until: Option<Instant>,
    last_seen: Instant,
}

/// Failure counts and bans per address.
#[derive(Debug)]
pub struct Bans {
    policy: BanPolicy,
    records: Mutex<HashMap<IpAddr, Record>>,
    /// Bans imposed since start (a counter for the metrics endpoint).
    pub bans_total: AtomicU64,
    /// Connections refused because their address was banned (a counter for metrics).
    pub refused_total: AtomicU64,
}

impl Bans {
    /// A table applying `policy`.
    pub fn new(policy: BanPolicy) -> Self {
        Self {
            policy,
            records: Mutex::new(HashMap::new()),
            bans_total: AtomicU64::new(0),
            refused_total: AtomicU64::new(0),
        }
    }

    fn exempt(&self, ip: IpAddr) -> bool {
        self.policy.threshold == 0 || self.policy.exempt.iter().any(|n| n.contains(ip))
    }

    /// How long `ip` stays banned from `now`, or `None` when it may connect. Counts a
    /// refusal when it is banned.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        if self.exempt(ip) {
            return None;
        }
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let until = records.get(&ip)?.banned_until?;
        let left = until.checked_duration_since(now).filter(|d| !d.is_zero())?;
        self.refused_total.fetch_add(1, Ordering::Relaxed);
        Some(left)
    }

    /// Records a failed login from `ip` at `now`; returns the ban's length when this failure
    /// bans the address.
    pub fn fail(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        if self.exempt(ip) {
            return None;
        }
        let p = &self.policy;
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if records.len() >= MAX_TRACKED {
            // A record is worth keeping while banned or while its ban count still matters.
            records.retain(|_, r| now.duration_since(r.last_seen) < p.max.max(p.window));
        }
        let r = records.entry(ip).or_insert(Record {
            failures: 0,
            window_start: now,
            bans: 0,
            banned_until: None,
            last_seen: now,
        });
        // A quiet spell as long as the longest ban, after the last ban ended, forgives
        // earlier bans.
        let quiet_since = r.banned_until.map_or(r.last_seen, |u| u.max(r.last_seen));
        if now.saturating_duration_since(quiet_since) >= p.max {
            r.bans = 0;
        }
        r.last_seen = now;
        if now.duration_since(r.window_start) >= p.window {
            r.failures = 0;
            r.window_start = now;
        }
        r.failures = r.failures.saturating_add(1);
        if r.failures < p.threshold {
            return None;
        }
        let length = p.initial.saturating_mul(1 << r.bans.min(20)).min(p.max);
        r.bans = r.bans.saturating_add(1);
        r.failures = 0;
        r.window_start = now;
        r.banned_until = Some(now + length);
        self.bans_total.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%ip, ban_secs = length.as_secs(), "address banned after failed logins");
        Some(length)
    }

    /// Addresses banned at `now`.
    pub fn active(&self, now: Instant) -> usize {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records
            .values()
            .filter(|r| r.banned_until.is_some_and(|u| u > now))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(exempt: &[&str]) -> BanPolicy {
        BanPolicy {
            threshold: 3,
            window: Duration::from_secs(60),
            initial: Duration::from_secs(10),
            max: Duration::from_secs(35),
            exempt: exempt
                .iter()
                .map(|n| Network::try_from((*n).to_owned()).unwrap())
                .collect(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn threshold_bans_and_the_ban_expires() {
        let b = Bans::new(policy(&[]));
        let a = ip("192.0.2.1");
        let t = Instant::now();
        assert_eq!(b.fail(a, t), None);
        assert_eq!(b.fail(a, t), None);
        assert_eq!(b.check(a, t), None);
        assert_eq!(b.fail(a, t), Some(Duration::from_secs(10)));
        assert_eq!(
            b.check(a, t + Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(b.check(ip("192.0.2.2"), t), None, "per address");
        assert_eq!(b.check(a, t + Duration::from_secs(10)), None, "expired");
        assert_eq!(b.active(t), 1);
        assert_eq!(b.bans_total.load(Ordering::Relaxed), 1);
        assert_eq!(b.refused_total.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn repeat_bans_double_up_to_the_maximum() {
        let b = Bans::new(policy(&[]));
        let a = ip("2001:db8::7");
        let mut t = Instant::now();
        let mut lengths = Vec::new();
        for _ in 0..4 {
            let banned = (0..3).find_map(|_| b.fail(a, t)).unwrap();
            lengths.push(banned.as_secs());
            t += banned;
        }
        assert_eq!(lengths, [10, 20, 35, 35]);
        // A quiet spell as long as the longest ban starts over.
        t += Duration::from_secs(35);
        let banned = (0..3).find_map(|_| b.fail(a, t)).unwrap();
        assert_eq!(banned.as_secs(), 10);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let b = Bans::new(policy(&[]));
        let a = ip("192.0.2.9");
        let t = Instant::now();
        b.fail(a, t);
        b.fail(a, t);
        assert_eq!(b.fail(a, t + Duration::from_secs(61)), None);
    }

    #[test]
    fn trusted_networks_and_a_zero_threshold_are_never_banned() {
        let b = Bans::new(policy(&["10.0.0.0/8"]));
        let t = Instant::now();
        for _ in 0..10 {
            assert_eq!(b.fail(ip("10.1.2.3"), t), None);
        }
        assert_eq!(b.check(ip("10.1.2.3"), t), None);
        let mut off = policy(&[]);
        off.threshold = 0;
        let b = Bans::new(off);
        for _ in 0..10 {
            assert_eq!(b.fail(ip("192.0.2.1"), t), None);
        }
    }
}
