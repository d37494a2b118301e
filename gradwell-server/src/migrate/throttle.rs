//! A token bucket that caps how many messages per second a migration reads from a source
//! (THREATS MIR-10: "The load on the source stays within the set throttle").
//!
//! One [`Throttle`] is shared (behind an `Arc`) by every worker that reads the same source
//! server, so the cap holds for the whole run, not per connection. Sources call
//! [`Throttle::acquire`] before they ask the server for messages; the engine builds the
//! throttle from the operator's setting and hands it to each source.
//!
//! The arithmetic, [`Throttle::reserve`], takes the time as an argument, so it is tested
//! without sleeping; only [`Throttle::acquire`] reads the clock and sleeps.
//!
//! ```
//! use std::{num::NonZeroU32, time::{Duration, Instant}};
//! use gradwell_server::migrate::throttle::Throttle;
//!
//! let throttle = Throttle::per_second(NonZeroU32::new(100).unwrap());
//! let start = Instant::now();
//! // A full bucket: the first second's worth goes at once...
//! assert_eq!(throttle.reserve(100, start), Duration::ZERO);
//! // ...then each message waits its 10 ms.
//! assert_eq!(throttle.reserve(1, start), Duration::from_millis(10));
//! ```

use std::{
    num::NonZeroU32,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// A messages-per-second limit with a burst allowance, safe to share between threads.
#[derive(Debug)]
pub struct Throttle {
    /// Messages per second.
    rate: f64,
    /// Most tokens the bucket holds: how many messages may go at once after a pause.
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens available; negative when reservations ran ahead (their callers are waiting).
    tokens: f64,
    /// When `tokens` was last brought up to date; `None` until the first reservation.
    updated: Option<Instant>,
}

impl Throttle {
    /// `rate` messages per second, with a burst of one second's worth.
    pub fn per_second(rate: NonZeroU32) -> Self {
        Self::new(rate, rate)
    }

    /// `rate` messages per second; after a pause at most `burst` messages go at once.
    pub fn new(rate: NonZeroU32, burst: NonZeroU32) -> Self {
        let burst = f64::from(burst.get());
        Self {
            rate: f64::from(rate.get()),
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                updated: None,
            }),
        }
    }

    /// The configured messages per second.
    pub fn rate(&self) -> u32 {
        // Built from a NonZeroU32, so the value is an exact u32.
        self.rate as u32
    }

    /// Takes `messages` tokens at time `now` and returns how long the caller must wait
    /// before reading them (zero when the bucket had enough). Reservations queue: the
    /// second of two callers waits for both, so the long-run rate never exceeds the limit,
    /// whatever the batch sizes. A `now` earlier than a previous one counts as no time
    /// passing.
    pub fn reserve(&self, messages: u32, now: Instant) -> Duration {
        let mut bucket = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(then) = bucket.updated {
            let elapsed = now.saturating_duration_since(then).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        }
        // Never move the reference point backwards, or time would be counted twice.
        bucket.updated = Some(bucket.updated.map_or(now, |then| then.max(now)));
        bucket.tokens -= f64::from(messages);
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / self.rate)
        }
    }

    /// Takes `messages` tokens now and sleeps until they may be read.
    pub fn acquire(&self, messages: u32) {
        let wait = self.reserve(messages, Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero in tests")
    }

    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < Duration::from_micros(10)
    }

    #[test]
    fn full_bucket_then_steady_rate() {
        let t = Throttle::new(nz(10), nz(5));
        let start = Instant::now();
        for _ in 0..5 {
            assert_eq!(t.reserve(1, start), Duration::ZERO);
        }
        // Empty: each further message is 100 ms behind the previous one.
        assert!(close(t.reserve(1, start), Duration::from_millis(100)));
        assert!(close(t.reserve(1, start), Duration::from_millis(200)));
    }

    #[test]
    fn refills_with_time_up_to_the_burst() {
        let t = Throttle::new(nz(10), nz(5));
        let start = Instant::now();
        assert_eq!(t.reserve(5, start), Duration::ZERO);
        // 300 ms later three tokens are back.
        let later = start + Duration::from_millis(300);
        assert_eq!(t.reserve(3, later), Duration::ZERO);
        assert!(close(t.reserve(1, later), Duration::from_millis(100)));
        // A long pause refills only up to the burst.
        let much_later = later + Duration::from_secs(60);
        assert_eq!(t.reserve(5, much_later), Duration::ZERO);
        assert!(close(t.reserve(1, much_later), Duration::from_millis(100)));
    }

    #[test]
    fn a_batch_larger_than_the_burst_waits_for_its_excess() {
        let t = Throttle::per_second(nz(50));
        let start = Instant::now();
        // 50 in the bucket, 150 asked: 100 wait two seconds.
        assert!(close(t.reserve(150, start), Duration::from_secs(2)));
    }

    #[test]
    fn long_run_rate_holds_for_any_batch_size() {
        // Simulated callers that sleep exactly what they are told: after the first burst,
        // N messages take N / rate seconds.
        for batch in [1, 7, 100, 1000] {
            let t = Throttle::per_second(nz(200));
            let start = Instant::now();
            let mut now = start;
            let mut sent = 0u32;
            while sent < 10_000 {
                now += t.reserve(batch, now);
                sent += batch;
            }
            let expected = f64::from(sent - 200) / 200.0;
            let took = (now - start).as_secs_f64();
            assert!(
                took >= expected - 1e-6,
                "batch {batch}: {took} < {expected}"
            );
            assert!(
                took <= expected + f64::from(batch) / 200.0 + 1e-6,
                "batch {batch}"
            );
        }
    }

    #[test]
    fn a_clock_going_backwards_adds_no_tokens() {
        let t = Throttle::new(nz(10), nz(1));
        let start = Instant::now() + Duration::from_secs(10);
        assert_eq!(t.reserve(1, start), Duration::ZERO);
        let earlier = start - Duration::from_secs(5);
        assert!(close(t.reserve(1, earlier), Duration::from_millis(100)));
        // And the return to `start` does not count those 5 s again.
        assert!(close(t.reserve(1, start), Duration::from_millis(200)));
    }

    #[test]
    fn rate_is_reported() {
        assert_eq!(Throttle::per_second(nz(1234)).rate(), 1234);
    }
}
