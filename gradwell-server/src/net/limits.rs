//! Concurrent connections per client address.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

/// Counts open connections per address.
#[derive(Debug)]
pub struct PerIp {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// Held while a connection is open; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    /// A table allowing `max` connections per address.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a slot for `ip`, or `None` when it already has `max` connections.
    pub fn take(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            table: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_and_freed() {
        let t = PerIp::new(2);
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let a = t.take(ip).unwrap();
        let _b = t.take(ip).unwrap();
        assert!(t.take(ip).is_none());
        assert!(t.take("198.51.100.8".parse().unwrap()).is_some());
        drop(a);
        assert!(t.take(ip).is_some());
    }
}
