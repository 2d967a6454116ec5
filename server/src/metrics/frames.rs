//! Frame and byte counters for one direction of the WebSocket traffic.
//!
//! One pair of counters per frame kind, registered once when the state is
//! built: looking a labelled counter up per frame showed in fan-out profiles.

use axum::extract::ws::Message;
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

    /// Counts `message` and its payload bytes.
    pub fn count(&self, message: &Message) {
        let (kind, len) = kind_and_len(message);
        self.frames[kind].increment(1);
        self.bytes[kind].increment(len as u64);
    }
}

/// The index in [`FRAME_KINDS`] of `message`, and its payload length.
fn kind_and_len(message: &Message) -> (usize, usize) {
    match message {
        Message::Text(text) => (0, text.len()),
        Message::Ping(data) => (1, data.len()),
        Message::Pong(data) => (2, data.len()),
        Message::Close(_) => (3, 0),
        Message::Binary(frame) => {
            let kind = match frame.as_ref() {
                [0, 0, ..] => 4,
                [0, 1, ..] => 5,
                [0, 2, ..] => 6,
                _ => 7,
            };
            (kind, frame.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::SyncFrame;

    use super::*;

    fn kind(message: &Message) -> &'static str {
        FRAME_KINDS[kind_and_len(message).0]
    }

    #[test]
    fn binary_frames_are_counted_by_sync_message() {
        let step1 = SyncFrame::Step1(yrs::StateVector::default()).encode();
        assert_eq!(kind(&Message::Binary(step1.into())), "sync_step1");
        let step2 = SyncFrame::Step2(vec![0, 0]).encode();
        assert_eq!(kind(&Message::Binary(step2.into())), "sync_step2");
        let update = SyncFrame::Update(vec![0, 0]).encode();
        assert_eq!(kind(&Message::Binary(update.into())), "sync_update");
        assert_eq!(kind(&Message::Binary(vec![1, 0].into())), "binary_other");
        assert_eq!(kind(&Message::Binary(Vec::new().into())), "binary_other");
    }

    #[test]
    fn payload_bytes_are_the_frame_length() {
        assert_eq!(kind_and_len(&Message::Text("héllo".into())), (0, 6));
        assert_eq!(kind_and_len(&Message::Ping(vec![1, 2].into())), (1, 2));
        assert_eq!(kind_and_len(&Message::Close(None)), (3, 0));
    }
}
