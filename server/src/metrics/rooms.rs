//! Per-room series, bounded in number.
//!
//! A room's clients, document size and update count carry a `room` label,
//! but only for the first `--metrics-room-labels` rooms loaded at a time:
//! every label value is a new series in Prometheus, and a server with many
//! rooms would otherwise grow them without bound. The registry holds one
//! [`RoomLabels`]; a room takes a [`RoomLabel`] once it has loaded, and
//! dropping it zeroes the room's gauges and frees the slot for another room.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use metrics::{Counter, Gauge};
use tandem_shared::RoomId;

use super::{ROOM_CLIENTS, ROOM_DOCUMENT_BYTES, ROOM_UPDATES};

/// The bounded set of per-room label slots.
#[derive(Debug)]
pub struct RoomLabels {
    /// Most rooms labelled at one time (`--metrics-room-labels`).
    max: usize,
    /// Slots taken now; only [`RoomLabels::take`] and [`RoomLabel`]'s drop
    /// change it, so it never passes `max`.
    taken: AtomicUsize,
}

/// One room's labelled series; holds a slot of its [`RoomLabels`] until dropped.
#[derive(Debug)]
pub struct RoomLabel {
    /// Where the slot goes back to.
    slots: Arc<RoomLabels>,
    /// [`ROOM_CLIENTS`] for this room.
    clients: Gauge,
    /// [`ROOM_DOCUMENT_BYTES`] for this room.
    document_bytes: Gauge,
    /// [`ROOM_UPDATES`] for this room.
    updates: Counter,
}

impl RoomLabels {
    /// At most `max` rooms labelled at a time.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            taken: AtomicUsize::new(0),
        }
    }

    /// The labelled series of `room`, if a slot is free.
    pub fn take(self: &Arc<Self>, room: &RoomId) -> Option<RoomLabel> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()?;
        let label = room.to_string();
        Some(RoomLabel {
            slots: self.clone(),
            clients: metrics::gauge!(ROOM_CLIENTS, "room" => label.clone()),
            document_bytes: metrics::gauge!(ROOM_DOCUMENT_BYTES, "room" => label.clone()),
            updates: metrics::counter!(ROOM_UPDATES, "room" => label),
        })
    }

    /// Slots taken now.
    pub fn taken(&self) -> usize {
        self.taken.load(Ordering::Acquire)
    }
}

impl RoomLabel {
    /// Sets the room's gauges.
    pub fn report(&self, clients: usize, document_bytes: u64) {
        self.clients.set(clients as f64);
        self.document_bytes.set(document_bytes as f64);
    }

    /// Counts one applied update that changed the document.
    pub fn count_update(&self) {
        self.updates.increment(1);
    }
}

impl Drop for RoomLabel {
    fn drop(&mut self) {
        // An unloaded room reads as empty rather than frozen at its last value.
        self.clients.set(0.0);
        self.document_bytes.set(0.0);
        self.slots.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_rooms_hold_a_label_and_a_dropped_one_frees_its_slot() {
        let labels = Arc::new(RoomLabels::new(2));
        let room = |name: &str| RoomId::new(name).expect("room");
        let a = labels.take(&room("a")).expect("first slot");
        let _b = labels.take(&room("b")).expect("second slot");
        assert!(labels.take(&room("c")).is_none(), "over the bound");
        assert_eq!(labels.taken(), 2);
        drop(a);
        assert_eq!(labels.taken(), 1);
        assert!(labels.take(&room("c")).is_some(), "a freed slot is reused");
    }

    #[test]
    fn no_slots_means_no_labels() {
        let labels = Arc::new(RoomLabels::new(0));
        assert!(labels.take(&RoomId::new("a").expect("room")).is_none());
        assert_eq!(labels.taken(), 0);
    }
}
