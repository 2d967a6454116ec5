//! What a frame is, in a word (its kind) and a line (its summary), and
//! which filter of the inspector shows it.
//!
//! The kind and summary come from `tandem_shared::describe`, shared with
//! `tandem connect --frames`, so the terminal and the page describe a
//! session alike; for updates the summary is what changed in the text,
//! which the caller supplies from the transaction's text events (see
//! `editor::changes`). The filter is the page's own.

pub(crate) use tandem_shared::describe::{
    Classified, classify_bad_binary, classify_close, classify_sync, classify_text,
};

/// Which filter of the inspector shows a kind of frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    /// Sync step 1 and 2: the state-vector exchange of each connection.
    Sync,
    /// Incremental CRDT updates.
    Updates,
    /// `presence` and `peer_left`.
    Presence,
    /// Everything else: `welcome`, `saved`, `ping`, `pong`, `error`, closes.
    Control,
}

impl Category {
    /// The filter a frame of `kind` belongs to.
    pub(crate) fn of(kind: &str) -> Self {
        match kind {
            "sync_step1" | "sync_step2" => Self::Sync,
            "update" => Self::Updates,
            "presence" | "peer_left" => Self::Presence,
            _ => Self::Control,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_fall_into_filters() {
        assert_eq!(Category::of("sync_step1"), Category::Sync);
        assert_eq!(Category::of("sync_step2"), Category::Sync);
        assert_eq!(Category::of("update"), Category::Updates);
        assert_eq!(Category::of("presence"), Category::Presence);
        assert_eq!(Category::of("peer_left"), Category::Presence);
        for kind in [
            "welcome", "saved", "ping", "pong", "error", "close", "text", "binary",
        ] {
            assert_eq!(Category::of(kind), Category::Control, "{kind}");
        }
    }
}
