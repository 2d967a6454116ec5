//! Frame and byte counters for one direction of the WebSocket traffic.
//!
//! One pair of counters per frame kind, registered once when the state is
//! built: looking a labelled counter up per frame showed in fan-out profiles.

use metrics::Counter;

/// Frame and byte counters for one direction, one pair per frame kind.
#[derive(Debug)]
pub struct FrameCounters {
    /// Frames seen, indexed like [`FRAME_KINDS`].
    frames: [Counter; FRAME_KINDS.len()],
    /// Payload bytes seen, indexed like [`FRAME_KINDS`].
    bytes: [Counter; FRAME_KINDS.len()],
}

/// The `kind` label values of the frame metrics.
const FRAME_KINDS: [&str; 8] = [
    "text",
    "ping",
    "pong",
    "close",
    "sync_step1",
    "sync_step2",
    "sync_update",
    "binary_other",
];

impl FrameCounters {
    /// Counters named `frames` and `bytes` for every kind.
    pub fn new(frames: &'static str, bytes: &'static str) -> Self {
        Self {
            frames: FRAME_KINDS.map(|kind| metrics::counter!(frames, "kind" => kind)),
            bytes: FRAME_KINDS.map(|kind| metrics::counter!(bytes, "kind" => kind)),
        }
    }

    /// Counts one frame of `kind` and its payload bytes (a close frame's
    /// count no bytes).
    pub fn count(&self, kind: FrameKind, payload: &[u8]) {
        let (index, len) = index_and_len(kind, payload);
        self.frames[index].increment(1);
        self.bytes[index].increment(len as u64);
    }
}

/// A WebSocket frame's kind, as the transport sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A text message.
    Text,
    /// A binary message: counted by its y-sync message type.
    Binary,
    /// A ping.
    Ping,
    /// A pong.
    Pong,
    /// A close.
    Close,
}

/// The index in [`FRAME_KINDS`] of a frame, and its counted length.
fn index_and_len(kind: FrameKind, payload: &[u8]) -> (usize, usize) {
    match kind {
        FrameKind::Text => (0, payload.len()),
        FrameKind::Ping => (1, payload.len()),
        FrameKind::Pong => (2, payload.len()),
        FrameKind::Close => (3, 0),
        FrameKind::Binary => {
            let index = match payload {
                [0, 0, ..] => 4,
                [0, 1, ..] => 5,
                [0, 2, ..] => 6,
                _ => 7,
            };
            (index, payload.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::SyncFrame;

    use super::*;

    fn binary(payload: &[u8]) -> &'static str {
        FRAME_KINDS[index_and_len(FrameKind::Binary, payload).0]
    }

    #[test]
    fn binary_frames_are_counted_by_sync_message() {
        let step1 = SyncFrame::Step1(yrs::StateVector::default()).encode();
        assert_eq!(binary(&step1), "sync_step1");
        assert_eq!(binary(&SyncFrame::Step2(vec![0, 0]).encode()), "sync_step2");
        assert_eq!(
            binary(&SyncFrame::Update(vec![0, 0]).encode()),
            "sync_update"
        );
        assert_eq!(binary(&[1, 0]), "binary_other");
        assert_eq!(binary(&[]), "binary_other");
    }

    #[test]
    fn payload_bytes_are_the_frame_length() {
        assert_eq!(index_and_len(FrameKind::Text, "héllo".as_bytes()), (0, 6));
        assert_eq!(index_and_len(FrameKind::Ping, &[1, 2]), (1, 2));
        assert_eq!(index_and_len(FrameKind::Close, &[3, 232, b'x']), (3, 0));
    }
}
