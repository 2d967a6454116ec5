//! What the header says about the connection and about saving, as plain
//! values derived from the connection's counters, so the rules are tested
//! without a socket.

use tandem_shared::ClientId;

/// The connection, as the `connection-state` badge shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnectionState {
    /// A socket is opening (first time or a retry).
    Connecting,
    /// The server welcomed this connection.
    Connected { client_id: ClientId },
    /// Waiting before the next attempt.
    Reconnecting {
        /// Whole seconds left, rounded up.
        in_secs: u64,
        /// The attempt that comes next, from 1.
        attempt: u32,
    },
    /// The browser reports no network; waiting for it to come back.
    Offline,
    /// The server refused the connection for good; no more retries.
    Closed { reason: String },
}

impl ConnectionState {
    /// The visible text.
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Connecting => "Connecting…".to_owned(),
            Self::Connected { .. } => "Connected".to_owned(),
            Self::Reconnecting { in_secs, attempt } => {
                format!("Reconnecting in {in_secs} s (attempt {attempt})")
            }
            Self::Offline => "Offline".to_owned(),
            Self::Closed { reason } => format!("Disconnected: {reason}"),
        }
    }

    /// The `data-state` attribute.
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected { .. } => "connected",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Offline => "offline",
            Self::Closed { .. } => "closed",
        }
    }

    /// The client id, while connected.
    pub(crate) fn client_id(&self) -> Option<ClientId> {
        match self {
            Self::Connected { client_id } => Some(*client_id),
            _ => None,
        }
    }
}

/// Whether this person's edits are on the server's disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveState {
    /// Every edit is acknowledged as durable.
    Saved,
    /// Edits are on their way or waiting for the acknowledgement.
    Saving,
    /// Edits exist only in this browser and there is no connection.
    Unsaved,
}

impl SaveState {
    /// The visible text.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Saved => "Saved",
            Self::Saving => "Saving…",
            Self::Unsaved => "Unsaved changes — offline",
        }
    }

    /// The `data-state` attribute.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Saved => "saved",
            Self::Saving => "saving",
            Self::Unsaved => "unsaved",
        }
    }
}

/// The counts behind [`SaveState`]. `sent` and `acked` count the step 2 and
/// update frames of the current connection only (the server's `saved` count
/// is per connection); `unsent` carries edits across connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SaveCounters {
    /// A socket is open.
    pub(crate) open: bool,
    /// Step 2 and update frames sent on this connection.
    pub(crate) sent: u64,
    /// How many of them the server reported durable.
    pub(crate) acked: u64,
    /// The document holds local edits no open connection has sent yet (made
    /// while disconnected, or sent on a connection that died before the ack).
    pub(crate) unsent: bool,
}

impl SaveCounters {
    /// Starts with what the stored copy said.
    pub(crate) fn new(unsent: bool) -> Self {
        Self {
            unsent,
            ..Self::default()
        }
    }

    pub(crate) fn state(&self) -> SaveState {
        if self.unsent && !self.open {
            SaveState::Unsaved
        } else if self.unsent || self.acked < self.sent {
            SaveState::Saving
        } else {
            SaveState::Saved
        }
    }

    /// A socket opened: counting starts again.
    pub(crate) fn opened(&mut self) {
        self.open = true;
        self.sent = 0;
        self.acked = 0;
    }

    /// A local edit happened while no connection could send it; the next step 2 will.
    pub(crate) fn edited_offline(&mut self) {
        self.unsent = true;
    }

    /// Our step 2 went out: it carries every local edit so far.
    pub(crate) fn sent_step2(&mut self) {
        self.sent += 1;
        self.unsent = false;
    }

    /// A local update went out.
    pub(crate) fn sent_update(&mut self) {
        self.sent += 1;
    }

    /// The server's `saved` message.
    pub(crate) fn saved(&mut self, updates: u64) {
        self.acked = self.acked.max(updates.min(self.sent));
    }

    /// The socket closed: whatever was not acknowledged may be lost and must
    /// travel again in the next step 2.
    pub(crate) fn closed(&mut self) {
        if self.acked < self.sent {
            self.unsent = true;
        }
        *self = Self {
            unsent: self.unsent,
            ..Self::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_keys() {
        let cases = [
            (ConnectionState::Connecting, "Connecting…", "connecting"),
            (
                ConnectionState::Connected {
                    client_id: ClientId(3),
                },
                "Connected",
                "connected",
            ),
            (
                ConnectionState::Reconnecting {
                    in_secs: 4,
                    attempt: 2,
                },
                "Reconnecting in 4 s (attempt 2)",
                "reconnecting",
            ),
            (ConnectionState::Offline, "Offline", "offline"),
            (
                ConnectionState::Closed {
                    reason: "not allowed".into(),
                },
                "Disconnected: not allowed",
                "closed",
            ),
        ];
        for (state, label, key) in cases {
            assert_eq!((state.label().as_str(), state.key()), (label, key));
        }
        assert_eq!(
            ConnectionState::Connected {
                client_id: ClientId(3)
            }
            .client_id(),
            Some(ClientId(3))
        );
        assert_eq!(ConnectionState::Offline.client_id(), None);
    }

    #[test]
    fn saved_only_when_everything_sent_is_acknowledged() {
        let mut c = SaveCounters::new(false);
        assert_eq!(c.state(), SaveState::Saved);
        c.opened();
        c.sent_step2();
        assert_eq!(c.state(), SaveState::Saving);
        c.sent_update();
        c.sent_update();
        c.saved(2);
        assert_eq!(c.state(), SaveState::Saving);
        c.saved(3);
        assert_eq!(c.state(), SaveState::Saved);
        // An ack can never cover more than was sent, nor go backwards.
        c.saved(1);
        c.saved(99);
        c.sent_update();
        assert_eq!(c.state(), SaveState::Saving);
    }

    #[test]
    fn offline_edits_are_unsaved_until_a_step_2_is_acknowledged() {
        let mut c = SaveCounters::new(false);
        c.edited_offline();
        assert_eq!(c.state(), SaveState::Unsaved);
        c.opened();
        assert_eq!(c.state(), SaveState::Saving);
        c.sent_step2();
        assert_eq!(c.state(), SaveState::Saving);
        c.saved(1);
        assert_eq!(c.state(), SaveState::Saved);
    }

    #[test]
    fn unacknowledged_frames_become_unsaved_when_the_socket_drops() {
        let mut c = SaveCounters::new(false);
        c.opened();
        c.sent_step2();
        c.sent_update();
        c.saved(1);
        c.closed();
        assert_eq!(c.state(), SaveState::Unsaved);
        assert_eq!((c.sent, c.acked), (0, 0));
        // A clean drop (everything acknowledged) stays saved.
        let mut c = SaveCounters::new(false);
        c.opened();
        c.sent_step2();
        c.saved(1);
        c.closed();
        assert_eq!(c.state(), SaveState::Saved);
    }

    #[test]
    fn a_stored_unsaved_copy_starts_unsaved() {
        let c = SaveCounters::new(true);
        assert_eq!(c.state(), SaveState::Unsaved);
    }
}
