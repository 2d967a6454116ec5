//! A connection's bounded send queue: the messages waiting for its socket,
//! bounded in messages and in bytes, with no I/O and no lock (the
//! [`outbox`](super::outbox) around it holds those).
//!
//! A push that would pass either bound fails instead of waiting, so one slow
//! client can never stall the room or grow the server's memory: the room
//! closes that client ([`SlowConsumer`]) and it resyncs on reconnect.
//! Nothing is ever dropped silently.
//!
//! A message larger than the byte bound by itself (the sync step 2 of a big
//! document, or a large paste relayed under a small bound) could never fit
//! under it, and refusing it would close a client for a message it was owed,
//! not for falling behind: a joiner of a 30 MB document would be closed the
//! moment its step 2 was queued behind its `welcome`. Such a message is
//! admitted whenever no other one like it waits; the messages that fit the
//! bound are counted against it as usual. The queue so holds at most the
//! byte bound plus one message, and a client that stops reading is still
//! closed once either is full.
//!
//! An idle connection holds one of these, so it keeps no memory while
//! empty: an emptied queue gives its slots back.
//!
//! [`SlowConsumer`]: tandem_shared::close::CloseCode::SlowConsumer

use std::collections::VecDeque;

use crate::room::{Outbound, SendError};

/// Messages in order, within a message and a byte bound.
#[derive(Debug, Default)]
pub(super) struct SendQueue {
    messages: VecDeque<Outbound>,
    /// Payload bytes of the messages that fit the byte bound (all but an
    /// oversized one).
    bytes: usize,
    /// A message larger than the byte bound by itself is queued (at most
    /// one is, see the module doc).
    oversized: bool,
}

impl SendQueue {
    /// Queues `message` if it fits `max_messages` and `max_bytes`.
    pub(super) fn push(
        &mut self,
        message: Outbound,
        max_messages: usize,
        max_bytes: usize,
    ) -> Result<(), SendError> {
        let len = message.payload().len();
        if self.messages.len() >= max_messages {
            return Err(SendError::Full);
        }
        if len > max_bytes {
            // It can never fit under the bound: it goes through unless
            // another one like it still waits (see the module doc).
            if self.oversized {
                return Err(SendError::Full);
            }
            self.oversized = true;
        } else if self.bytes + len > max_bytes {
            return Err(SendError::Full);
        } else {
            self.bytes += len;
        }
        self.messages.push_back(message);
        Ok(())
    }

    /// Takes the first message of a queue bounded to `max_bytes`.
    pub(super) fn pop(&mut self, max_bytes: usize) -> Option<Outbound> {
        let message = self.messages.pop_front()?;
        let len = message.payload().len();
        if len > max_bytes {
            self.oversized = false;
        } else {
            self.bytes -= len;
        }
        // An emptied queue gives its memory back (even the first few slots,
        // ~200 bytes): an idle connection holds none, and the next burst's
        // allocation is cheap next to its messages.
        if self.messages.is_empty() && self.messages.capacity() > 0 {
            self.messages = VecDeque::new();
        }
        Some(message)
    }

    /// Empties the queue, returning what was in it (to drop outside a lock).
    pub(super) fn take_all(&mut self) -> VecDeque<Outbound> {
        self.bytes = 0;
        self.oversized = false;
        std::mem::take(&mut self.messages)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn binary(len: usize) -> Outbound {
        Outbound::binary(Bytes::from(vec![0; len]))
    }

    #[test]
    fn bounded_in_messages() {
        let mut queue = SendQueue::default();
        assert_eq!(queue.push(binary(1), 2, 1 << 20), Ok(()));
        assert_eq!(queue.push(binary(1), 2, 1 << 20), Ok(()));
        assert_eq!(queue.push(binary(1), 2, 1 << 20), Err(SendError::Full));
    }

    #[test]
    fn bounded_in_bytes_and_freed_as_written() {
        let mut queue = SendQueue::default();
        assert_eq!(queue.push(binary(6), 100, 10), Ok(()));
        assert_eq!(queue.push(binary(6), 100, 10), Err(SendError::Full));
        queue.pop(10).expect("queued");
        assert_eq!(queue.push(binary(6), 100, 10), Ok(()));
    }

    #[test]
    fn an_oversized_message_passes_an_empty_queue() {
        let mut queue = SendQueue::default();
        assert_eq!(queue.push(binary(50), 10, 10), Ok(()));
        assert_eq!(
            queue.push(binary(1), 10, 10),
            Ok(()),
            "small ones still fit"
        );
    }

    #[test]
    fn an_oversized_message_passes_small_ones_queued_before_it() {
        // A joiner's welcome and step 1 are still queued when its big step 2
        // comes: it is owed that message, it did not fall behind.
        let mut queue = SendQueue::default();
        assert_eq!(queue.push(binary(4), 10, 10), Ok(()));
        assert_eq!(queue.push(binary(4), 10, 10), Ok(()));
        assert_eq!(queue.push(binary(50), 10, 10), Ok(()));
        assert_eq!(queue.push(binary(2), 10, 10), Ok(()), "the bound has room");
        assert_eq!(queue.push(binary(1), 10, 10), Err(SendError::Full));
        let lens: Vec<usize> = std::iter::from_fn(|| queue.pop(10))
            .map(|m| m.payload().len())
            .collect();
        assert_eq!(lens, [4, 4, 50, 2], "in order");
        assert_eq!(
            queue.push(binary(10), 10, 10),
            Ok(()),
            "all freed as written"
        );
    }

    #[test]
    fn only_one_oversized_message_waits_at_a_time() {
        let mut queue = SendQueue::default();
        assert_eq!(queue.push(binary(50), 10, 10), Ok(()));
        assert_eq!(
            queue.push(binary(11), 10, 10),
            Err(SendError::Full),
            "a client that does not read is still closed"
        );
        queue.pop(10).expect("queued");
        assert_eq!(
            queue.push(binary(11), 10, 10),
            Ok(()),
            "the slot is free again"
        );
        assert_eq!((queue.bytes, queue.oversized), (0, true));
    }

    #[test]
    fn an_idle_queue_holds_no_memory() {
        let mut queue = SendQueue::default();
        assert_eq!(queue.messages.capacity(), 0, "nothing up front");
        for _ in 0..500 {
            queue.push(binary(10), 1000, 1 << 20).expect("room");
        }
        while queue.pop(1 << 20).is_some() {}
        assert_eq!(queue.bytes, 0);
        assert_eq!(
            queue.messages.capacity(),
            0,
            "a burst's memory is given back"
        );
    }
}
