//! A limit on how hard a run reads its sources: messages per second across all workers
//! (a token bucket), and at most so many sources open at once (connections for remote
//! sources, open trees for local ones).

use std::{
    sync::{Condvar, Mutex, PoisonError},
    time::{Duration, Instant},
};

/// Shared by every worker of a run.
#[derive(Debug)]
pub struct Throttle {
    /// Messages per second; `None`: unlimited.
    rate: Option<f64>,
    bucket: Mutex<Bucket>,
    connections: Mutex<usize>,
    connection_freed: Condvar,
    max_connections: usize,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Throttle {
    /// At most `messages_per_sec` messages (0: unlimited) and `max_connections` open sources
    /// (0: unlimited). The bucket holds one second's worth, so bursts stay short.
    pub fn new(messages_per_sec: u32, max_connections: usize) -> Self {
        Self {
            rate: (messages_per_sec > 0).then_some(f64::from(messages_per_sec)),
            bucket: Mutex::new(Bucket {
                tokens: 0.0,
                last: Instant::now(),
            }),
            connections: Mutex::new(0),
            connection_freed: Condvar::new(),
            max_connections: if max_connections == 0 {
                usize::MAX
            } else {
                max_connections
            },
        }
    }

    /// Waits until one more message may be read.
    pub fn message(&self) {
        let Some(rate) = self.rate else {
            return;
        };
        loop {
            let wait = {
                let mut b = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                let refill = now.duration_since(b.last).as_secs_f64() * rate;
                b.tokens = (b.tokens + refill).min(rate);
                b.last = now;
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - b.tokens) / rate)
            };
            std::thread::sleep(wait);
        }
    }

    /// Waits for a free connection slot; the slot is freed when the guard drops.
    pub fn connect(&self) -> ConnectionSlot<'_> {
        let mut open = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *open >= self.max_connections {
            open = self
                .connection_freed
                .wait(open)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *open += 1;
        ConnectionSlot(self)
    }
}

/// One open source; frees its slot on drop.
#[derive(Debug)]
pub struct ConnectionSlot<'a>(&'a Throttle);

impl Drop for ConnectionSlot<'_> {
    fn drop(&mut self) {
        let mut open = self
            .0
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *open = open.saturating_sub(1);
        self.0.connection_freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_messages() {
        let t = Throttle::new(200, 0);
        let start = Instant::now();
        for _ in 0..60 {
            t.message();
        }
        // 60 messages at 200/s from an empty bucket take at least 0.3 s.
        assert!(
            start.elapsed() >= Duration::from_millis(280),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn connection_slots_are_bounded_and_freed() {
        let t = std::sync::Arc::new(Throttle::new(0, 1));
        let slot = t.connect();
        let t2 = t.clone();
        let waiter = std::thread::spawn(move || {
            let start = Instant::now();
            let _s = t2.connect();
            start.elapsed()
        });
        std::thread::sleep(Duration::from_millis(100));
        drop(slot);
        let waited = waiter.join().unwrap();
        assert!(waited >= Duration::from_millis(80), "{waited:?}");
    }
}
