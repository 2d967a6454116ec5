//! What the header says about the connection and about saving, as plain
//! values, so the wording is tested without a socket. Whether edits are
//! saved is the session's [`SaveState`] (its counters, its rules); this file
//! only says how the badge shows it.

use tandem_shared::ClientId;
pub(crate) use tandem_shared::session::SaveState;

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

/// The save badge's text for `state`; `gave_up` when the server refused
/// the connection for good (a refused edit, a revoked key): the edits wait
/// in this browser, not for the network to come back.
pub(crate) fn save_label(state: SaveState, gave_up: bool) -> &'static str {
    match state {
        SaveState::Saved => "Saved",
        SaveState::Saving => "Saving…",
        SaveState::Unsaved if gave_up => "Unsaved changes — kept in this browser",
        SaveState::Unsaved => "Unsaved changes — offline",
    }
}

/// The save badge's `data-state` for `state`.
pub(crate) fn save_key(state: SaveState) -> &'static str {
    match state {
        SaveState::Saved => "saved",
        SaveState::Saving => "saving",
        SaveState::Unsaved => "unsaved",
    }
}

/// What the page's polite live region says about the connection and
/// saving: each change of the connection's kind once (not every tick of a
/// reconnect countdown), and "All changes saved" once edits that waited in
/// this browser reach the server — never the saving/saved flicker of every
/// keystroke.
#[derive(Debug, Default)]
pub(crate) struct Announcements {
    /// The connection's `key` last said.
    said: Option<&'static str>,
    /// Edits waited in this browser (unsaved) since the last announcement
    /// that everything is saved.
    waiting: bool,
}

impl Announcements {
    /// The sentence to announce for this state, if it is news.
    pub(crate) fn next(&mut self, connection: &ConnectionState, save: SaveState) -> Option<String> {
        let mut news = Vec::new();
        let key = connection.key();
        if self.said != Some(key) && key != "connecting" {
            self.said = Some(key);
            news.push(match connection {
                ConnectionState::Connected { .. } => "Connected.".to_owned(),
                ConnectionState::Reconnecting { .. } => {
                    "Connection lost. Reconnecting; your edits are kept in this browser.".to_owned()
                }
                ConnectionState::Offline => {
                    "Offline. Your edits are kept in this browser.".to_owned()
                }
                ConnectionState::Closed { reason } => {
                    format!("Disconnected: {reason}. Your edits are kept in this browser.")
                }
                ConnectionState::Connecting => String::new(),
            });
        }
        match save {
            SaveState::Unsaved => self.waiting = true,
            SaveState::Saved if self.waiting => {
                self.waiting = false;
                news.push("All changes saved.".to_owned());
            }
            SaveState::Saved | SaveState::Saving => {}
        }
        (!news.is_empty()).then(|| news.join(" "))
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
    fn save_labels_and_keys() {
        let cases = [
            (SaveState::Saved, false, "Saved", "saved"),
            (SaveState::Saved, true, "Saved", "saved"),
            (SaveState::Saving, false, "Saving…", "saving"),
            (
                SaveState::Unsaved,
                false,
                "Unsaved changes — offline",
                "unsaved",
            ),
            (
                SaveState::Unsaved,
                true,
                "Unsaved changes — kept in this browser",
                "unsaved",
            ),
        ];
        for (state, gave_up, label, key) in cases {
            assert_eq!((save_label(state, gave_up), save_key(state)), (label, key));
        }
    }

    #[test]
    fn announcements_say_each_change_once_and_never_the_typing_flicker() {
        let connected = ConnectionState::Connected {
            client_id: ClientId(3),
        };
        let reconnecting = |in_secs| ConnectionState::Reconnecting {
            in_secs,
            attempt: 2,
        };
        let mut said = Announcements::default();
        let mut next = |c: &ConnectionState, s| said.next(c, s);
        assert_eq!(next(&ConnectionState::Connecting, SaveState::Saved), None);
        assert_eq!(
            next(&connected, SaveState::Saved).as_deref(),
            Some("Connected.")
        );
        // Typing: saving, saved, saving, saved... nothing to say.
        for state in [
            SaveState::Saving,
            SaveState::Saved,
            SaveState::Saving,
            SaveState::Saved,
        ] {
            assert_eq!(next(&connected, state), None);
        }
        // The server goes: said once, whatever the countdown does.
        assert_eq!(
            next(&reconnecting(3), SaveState::Unsaved).as_deref(),
            Some("Connection lost. Reconnecting; your edits are kept in this browser.")
        );
        assert_eq!(next(&reconnecting(2), SaveState::Unsaved), None);
        assert_eq!(next(&reconnecting(1), SaveState::Unsaved), None);
        assert_eq!(next(&ConnectionState::Connecting, SaveState::Unsaved), None);
        // Back: connected, then the waiting edits are saved.
        assert_eq!(
            next(&connected, SaveState::Saving).as_deref(),
            Some("Connected.")
        );
        assert_eq!(
            next(&connected, SaveState::Saved).as_deref(),
            Some("All changes saved.")
        );
        assert_eq!(next(&connected, SaveState::Saved), None);
        assert_eq!(
            next(
                &ConnectionState::Closed {
                    reason: "access revoked".into()
                },
                SaveState::Unsaved
            )
            .as_deref(),
            Some("Disconnected: access revoked. Your edits are kept in this browser.")
        );
    }
}
