//! This node's own connection counts, by room and by address: the truth
//! for this node, which `tracking` mirrors into Redis on every liveness
//! beat and adds to when it admits a connection. A field is named after
//! what it counts (`r:<room>`, `a:<address>`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

use tandem_shared::RoomId;

/// The field counting connections to `room`.
pub(super) fn room_field(room: &RoomId) -> String {
    format!("r:{room}")
}

/// The field counting connections from `ip`.
pub(super) fn addr_field(ip: IpAddr) -> String {
    format!("a:{ip}")
}

/// This node's connection counts by field; a std mutex, never held across
/// an await.
#[derive(Debug, Default)]
pub(super) struct Counts(Mutex<HashMap<String, u64>>);

impl Counts {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds one to each field; returns the new values.
    pub(super) fn add(&self, fields: &[&str; 2]) -> [u64; 2] {
        let mut counts = self.lock();
        fields.map(|f| {
            let count = counts.entry(f.to_string()).or_insert(0);
            *count += 1;
            *count
        })
    }

    /// Takes one from each field, forgetting fields that reach 0.
    pub(super) fn remove(&self, fields: &[String; 2]) {
        let mut counts = self.lock();
        for field in fields {
            if let Some(count) = counts.get_mut(field) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    counts.remove(field);
                }
            }
        }
    }

    /// Every non-zero count, for the beat's rewrite.
    pub(super) fn snapshot(&self) -> Vec<(String, u64)> {
        self.lock().iter().map(|(f, c)| (f.clone(), *c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_go_up_and_down_and_forget_what_reaches_zero() {
        let counts = Counts::default();
        let room = room_field(&RoomId::new("notes").expect("room"));
        let addr = addr_field(IpAddr::from([127, 0, 0, 1]));
        assert_eq!((room.as_str(), addr.as_str()), ("r:notes", "a:127.0.0.1"));
        assert_eq!(counts.add(&[&room, &addr]), [1, 1]);
        assert_eq!(counts.add(&[&room, "a:10.0.0.1"]), [2, 1]);
        counts.remove(&[room.clone(), addr.clone()]);
        let mut left = counts.snapshot();
        left.sort();
        assert_eq!(left, [("a:10.0.0.1".to_owned(), 1), (room.clone(), 1)]);
        counts.remove(&[room.clone(), "a:10.0.0.1".to_owned()]);
        counts.remove(&[room, addr]);
        assert!(
            counts.snapshot().is_empty(),
            "nothing below zero, nothing kept at zero"
        );
    }
}
