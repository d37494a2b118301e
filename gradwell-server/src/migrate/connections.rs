//! A cap on how many sources a run has open at once: connections to a remote server, open
//! trees on a local one (THREATS MIR-10: the load on the source stays within its limits).
//! Shared by every worker of a run; a worker waits for a free slot.

use std::sync::{Condvar, Mutex, PoisonError};

/// At most so many open sources.
#[derive(Debug)]
pub struct ConnectionLimit {
    open: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

impl ConnectionLimit {
    /// At most `max` open sources (0: unlimited).
    pub fn new(max: usize) -> Self {
        Self {
            open: Mutex::new(0),
            freed: Condvar::new(),
            max: if max == 0 { usize::MAX } else { max },
        }
    }

    /// Waits for a free slot; the slot is freed when the guard drops.
    pub fn connect(&self) -> ConnectionSlot<'_> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        while *open >= self.max {
            open = self
                .freed
                .wait(open)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *open += 1;
        ConnectionSlot(self)
    }
}

/// One open source; frees its slot on drop.
#[derive(Debug)]
pub struct ConnectionSlot<'a>(&'a ConnectionLimit);

impl Drop for ConnectionSlot<'_> {
    fn drop(&mut self) {
        let mut open = self.0.open.lock().unwrap_or_else(PoisonError::into_inner);
        *open = open.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::Arc,
        time::{Duration, Instant},
    };

    use super::*;

    #[test]
    fn slots_are_bounded_and_freed() {
        let limit = Arc::new(ConnectionLimit::new(1));
        let slot = limit.connect();
        let other = Arc::clone(&limit);
        let waiter = std::thread::spawn(move || {
            let start = Instant::now();
            let _slot = other.connect();
            start.elapsed()
        });
        std::thread::sleep(Duration::from_millis(100));
        drop(slot);
        let waited = waiter.join().expect("the waiting thread");
        assert!(waited >= Duration::from_millis(80), "{waited:?}");
    }
}
