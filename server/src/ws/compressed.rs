//! A relayed message compressed once for all its recipients.
//!
//! The room hands every recipient's outbox a clone of the same `Bytes`, and
//! each connection's writer compresses what it sends. [`compressed`] keeps
//! the last few compressed forms, keyed by the shared allocation (its
//! address and length): the first writer to reach a relayed message
//! compresses it, the others take its result. An entry holds a clone of the
//! original, so the allocation cannot be freed and its address reused while
//! the entry lives. A message no one else holds (a joiner's sync step 2) is
//! compressed without being kept.

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;

use super::deflate::deflate;

/// Entries kept: a burst of relays to many recipients is served from the
/// most recent ones.
const ENTRIES: usize = 16;
/// Largest message kept, and the most original bytes held in all.
const MAX_KEPT: usize = 1 << 20;
const MAX_TOTAL: usize = 4 << 20;

#[derive(Debug)]
struct Entry {
    original: Bytes,
    compressed: Bytes,
}

// A std mutex: held for a scan of 16 entries, never across an await or a
// compression.
static CACHE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// `payload` compressed (see [`deflate`]), shared with other recipients of
/// the same message.
pub(super) fn compressed(payload: &Bytes) -> Bytes {
    if payload.is_unique() || payload.len() > MAX_KEPT {
        return deflate(payload);
    }
    let same = |entry: &Entry| {
        entry.original.as_ptr() == payload.as_ptr() && entry.original.len() == payload.len()
    };
    if let Some(entry) = lock().iter().find(|e| same(e)) {
        return entry.compressed.clone();
    }
    let packed = deflate(payload);
    let mut cache = lock();
    if !cache.iter().any(same) {
        cache.push(Entry {
            original: payload.clone(),
            compressed: packed.clone(),
        });
        let mut total: usize = cache.iter().map(|e| e.original.len()).sum();
        while cache.len() > ENTRIES || total > MAX_TOTAL {
            total -= cache.remove(0).original.len();
        }
    }
    packed
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    // Entries are whole values pushed or removed in one step: a poisoned
    // lock holds nothing torn.
    CACHE.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::deflate::inflate;

    fn message(len: usize) -> Bytes {
        Bytes::from((0..len).map(|i| (i % 7) as u8).collect::<Vec<_>>())
    }

    #[test]
    fn recipients_of_one_message_share_its_compressed_form() {
        let relayed = message(10_000);
        let (a, b) = (relayed.clone(), relayed.clone());
        let first = compressed(&a);
        let second = compressed(&b);
        assert_eq!(first.as_ptr(), second.as_ptr(), "compressed once");
        assert!(inflate(&second, 1 << 20).expect("inflates") == relayed);
        // Another message with the same content is compressed on its own.
        let other = message(10_000);
        let _keep = other.clone();
        assert_ne!(compressed(&other).as_ptr(), first.as_ptr());
    }

    #[test]
    fn a_message_no_one_else_holds_is_not_kept() {
        let alone = message(5_000);
        let first = compressed(&alone);
        let second = compressed(&alone);
        assert_ne!(first.as_ptr(), second.as_ptr());
        assert!(lock().iter().all(|e| e.original.as_ptr() != alone.as_ptr()));
    }
}
