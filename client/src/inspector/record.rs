//! The frames this tab sent and received, as the inspector lists them: a
//! bounded history, newest last, each frame classified once when recorded.

use std::collections::VecDeque;
use std::sync::Arc;

use tandem_shared::{DecodeError, SyncFrame};

use super::classify::{self, Classified};

/// How many frames the history keeps; older ones are dropped.
pub(crate) const HISTORY: usize = 500;
/// How much of a frame's payload is kept for the detail view. A sync step 2
/// can be megabytes; its first 4 KiB are plenty to look at.
pub(crate) const KEPT_BYTES: usize = 4 * 1024;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From this tab to the server.
    Sent,
    /// From the server to this tab.
    Received,
}

impl Direction {
    /// The `data-direction` attribute.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Received => "received",
        }
    }

    /// The arrow shown in the row.
    pub(crate) fn arrow(self) -> &'static str {
        match self {
            Self::Sent => "↑",
            Self::Received => "↓",
        }
    }
}

/// A frame's payload, as far as it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// A text frame's JSON (cut at [`KEPT_BYTES`] on a character boundary).
    Text(String),
    /// A binary frame's first [`KEPT_BYTES`] bytes.
    Binary(Vec<u8>),
    /// A close frame: its code and reason.
    Close { code: u16, reason: String },
}

/// One recorded frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FrameRecord {
    /// Increasing per tab; the rows' key.
    pub(crate) id: u64,
    /// When it was sent or received, in ms since the Unix epoch.
    pub(crate) at_ms: f64,
    /// Sent (↑) or received (↓): the `data-direction`.
    pub(crate) direction: Direction,
    /// The frame's payload size in bytes (all of it, not what is kept).
    pub(crate) size: usize,
    /// The `data-kind`, e.g. `welcome`, `sync_step1`, `update`, `close`.
    pub(crate) kind: String,
    /// One line saying what the frame carries.
    pub(crate) summary: String,
    /// What the expanded row shows (JSON or hex dump).
    pub(crate) body: Body,
}

impl FrameRecord {
    /// "text", "binary" or "close", for the row.
    pub(crate) fn format(&self) -> &'static str {
        match self.body {
            Body::Text(_) => "text",
            Body::Binary(_) => "binary",
            Body::Close { .. } => "close",
        }
    }

    /// Whether the kept body is shorter than the frame.
    pub(crate) fn truncated(&self) -> bool {
        match &self.body {
            Body::Text(text) => text.len() < self.size,
            Body::Binary(bytes) => bytes.len() < self.size,
            Body::Close { .. } => false,
        }
    }
}

/// A frame before it gets its id and time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    /// Which way it went.
    direction: Direction,
    /// Its full payload size.
    size: usize,
    /// Kind and summary, decided when the frame is made (the caller knows
    /// what an update changed only then).
    classified: Classified,
    /// What is kept of the payload.
    body: Body,
}

impl Frame {
    /// A text frame carrying `text`.
    pub(crate) fn text(direction: Direction, text: &str) -> Self {
        let mut end = text.len().min(KEPT_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            direction,
            size: text.len(),
            classified: classify::classify_text(text),
            body: Body::Text(text[..end].to_owned()),
        }
    }

    /// A binary frame of `bytes` that decoded as `frame` (or did not);
    /// `changes` says what an update changed in the text, when known.
    pub(crate) fn binary(
        direction: Direction,
        bytes: &[u8],
        frame: Result<&SyncFrame, &DecodeError>,
        changes: Option<String>,
    ) -> Self {
        let classified = match frame {
            Ok(frame) => classify::classify_sync(frame, changes),
            Err(error) => classify::classify_bad_binary(error),
        };
        Self {
            direction,
            size: bytes.len(),
            classified,
            body: Body::Binary(bytes[..bytes.len().min(KEPT_BYTES)].to_vec()),
        }
    }

    /// The same frame with another one-line summary: for a received update,
    /// classified before it is applied and described once it was.
    pub(crate) fn summarized(mut self, summary: String) -> Self {
        self.classified.summary = summary;
        self
    }

    /// A close frame with `code` and `reason`.
    pub(crate) fn close(direction: Direction, code: u16, reason: &str) -> Self {
        Self {
            direction,
            // A close frame's payload: the 2-byte code and the reason.
            size: 2 + reason.len(),
            classified: classify::classify_close(code, reason),
            body: Body::Close {
                code,
                reason: reason.to_owned(),
            },
        }
    }
}

/// The bounded history.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrameLog {
    /// Oldest first. `Arc` so the view can take the list without copying
    /// payloads.
    records: VecDeque<Arc<FrameRecord>>,
    /// The id of the next record.
    next_id: u64,
}

impl FrameLog {
    /// Records `frame` at `at_ms`, dropping the oldest beyond [`HISTORY`].
    pub(crate) fn push(&mut self, frame: Frame, at_ms: f64) {
        let record = FrameRecord {
            id: self.next_id,
            at_ms,
            direction: frame.direction,
            size: frame.size,
            kind: frame.classified.kind,
            summary: frame.classified.summary,
            body: frame.body,
        };
        self.next_id += 1;
        if self.records.len() == HISTORY {
            self.records.pop_front();
        }
        self.records.push_back(Arc::new(record));
    }

    /// Forgets every record (ids keep increasing).
    pub(crate) fn clear(&mut self) {
        self.records.clear();
    }

    /// The records, oldest first.
    pub(crate) fn records(&self) -> impl DoubleEndedIterator<Item = &Arc<FrameRecord>> {
        self.records.iter()
    }

    /// The id the next record will get: "everything before this" for pausing.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id
    }
}

/// `14:03:07.123`.
pub(crate) fn clock(hours: u32, minutes: u32, seconds: u32, millis: u32) -> String {
    format!("{hours:02}:{minutes:02}:{seconds:02}.{millis:03}")
}

/// `22 B`, `4.1 KB`, `1.3 MB` (`tandem_shared::describe::size`).
pub(crate) fn size(bytes: usize) -> String {
    tandem_shared::describe::size(bytes as u64)
}

#[cfg(test)]
mod tests {
    use tandem_shared::close::CloseCode;

    use super::*;

    #[test]
    fn history_is_bounded_and_ids_keep_increasing() {
        let mut log = FrameLog::default();
        for i in 0..(HISTORY + 20) {
            log.push(Frame::text(Direction::Sent, r#"{"type":"ping"}"#), i as f64);
        }
        assert_eq!(log.records().count(), HISTORY);
        assert_eq!(log.records().next().map(|r| r.id), Some(20));
        assert_eq!(
            log.records().last().map(|r| r.id),
            Some(HISTORY as u64 + 19)
        );
        log.clear();
        assert_eq!(log.records().count(), 0);
        log.push(
            Frame::close(Direction::Received, CloseCode::GoingAway.number(), "bye"),
            0.0,
        );
        assert_eq!(
            log.records().next().map(|r| r.id),
            Some(HISTORY as u64 + 20)
        );
        assert_eq!(log.next_id(), HISTORY as u64 + 21);
    }

    #[test]
    fn frames_are_classified_once_and_large_payloads_are_cut() {
        let mut log = FrameLog::default();
        log.push(
            Frame::text(Direction::Received, r#"{"type":"saved","updates":2}"#),
            0.0,
        );
        let big = vec![7u8; KEPT_BYTES * 3];
        let frame = SyncFrame::Update(big.clone());
        let encoded = frame.encode();
        log.push(
            Frame::binary(
                Direction::Sent,
                &encoded,
                Ok(&frame),
                Some("insert 'a' at 5".into()),
            ),
            1.0,
        );
        log.push(
            Frame::close(
                Direction::Received,
                CloseCode::Policy.number(),
                "view-only link",
            ),
            2.0,
        );
        let records: Vec<_> = log.records().collect();
        assert_eq!(
            (
                records[0].kind.as_str(),
                records[0].summary.as_str(),
                records[0].format()
            ),
            ("saved", "updates: 2", "text")
        );
        assert_eq!(records[0].direction.key(), "received");
        assert!(!records[0].truncated());
        assert_eq!(
            (
                records[1].kind.as_str(),
                records[1].summary.as_str(),
                records[1].format()
            ),
            ("update", "insert 'a' at 5", "binary")
        );
        assert_eq!(records[1].size, encoded.len());
        assert!(records[1].truncated());
        assert_eq!(records[1].direction.arrow(), "↑");
        assert_eq!(
            (records[2].kind.as_str(), records[2].summary.as_str()),
            (
                "close",
                format!("{} policy: view-only link", CloseCode::Policy.number()).as_str()
            )
        );
    }

    #[test]
    fn a_summary_given_after_classifying_is_the_one_given_before() {
        for frame in [SyncFrame::Step2(vec![0, 0]), SyncFrame::Update(vec![0, 0])] {
            let bytes = frame.encode();
            let changes = "insert 'x' at 0".to_owned();
            let classified = Frame::binary(Direction::Received, &bytes, Ok(&frame), None);
            assert_eq!(
                classified.summarized(changes.clone()),
                Frame::binary(Direction::Received, &bytes, Ok(&frame), Some(changes))
            );
        }
    }

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        let text = format!(r#"{{"type":"x","v":"{}"}}"#, "é".repeat(KEPT_BYTES));
        let frame = Frame::text(Direction::Sent, &text);
        let Body::Text(kept) = &frame.body else {
            panic!("text body");
        };
        assert!(kept.len() <= KEPT_BYTES && kept.len() > KEPT_BYTES - 4);
    }

    #[test]
    fn clock_and_sizes() {
        assert_eq!(clock(9, 3, 7, 45), "09:03:07.045");
        assert_eq!(size(4_096), "4.1 KB");
    }
}
