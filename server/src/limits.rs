//! Admission of WebSocket connections: the server-wide and per-IP bounds.
//!
//! A connection holds a [`Slot`] for its whole life; dropping the slot frees
//! it. Past a bound the upgrade is still accepted, then closed with
//! `TryAgainLater` and a retry hint, because a browser cannot read the HTTP
//! status of a refused upgrade but can read a close frame's reason.
//!
//! These are this node's counts. In a cluster (`--redis-url`) the room and
//! per-address bounds also count the other nodes' connections, through
//! [`crate::bus::Bus::admit`]; these local counts remain the bound when
//! Redis is unreachable.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Counts of open connections.
#[derive(Debug)]
pub struct ConnectionLimits {
    /// Bound on `total`.
    max_total: usize,
    /// Bound on each entry of `per_ip`.
    max_per_ip: usize,
    /// Connections open now.
    total: AtomicUsize,
    /// Connections open now, by client address. A std mutex: one map
    /// update per connection open or close, never held across an await.
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds its maximum number of connections.
    ServerFull,
    /// This address holds its maximum number of connections.
    AddressFull,
}

/// One admitted connection; frees its place when dropped.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    /// Limits of `max_total` connections, `max_per_ip` from one address.
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        Self {
            max_total,
            max_per_ip,
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Takes a place for a connection from `ip`, if there is one.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if self.total.load(Ordering::Relaxed) >= self.max_total {
            return Err(Refusal::ServerFull);
        }
        let count = per_ip.entry(ip).or_insert(0);
        if *count >= self.max_per_ip {
            return Err(Refusal::AddressFull);
        }
        *count += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            limits: self.clone(),
            ip,
        })
    }
}

impl Slot {
    /// The address the connection came from.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_ip = self.limits.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.limits.total.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_total_and_per_address_and_frees_on_drop() {
        let limits = Arc::new(ConnectionLimits::new(3, 2));
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let a1 = limits.admit(a).expect("first");
        let _a2 = limits.admit(a).expect("second");
        assert_eq!(limits.admit(a).err(), Some(Refusal::AddressFull));
        let _b1 = limits.admit(b).expect("other address");
        assert_eq!(limits.admit(b).err(), Some(Refusal::ServerFull));
        assert_eq!(limits.open(), 3);
        drop(a1);
        assert_eq!(limits.open(), 2);
        let _a3 = limits.admit(a).expect("freed");
    }
}
