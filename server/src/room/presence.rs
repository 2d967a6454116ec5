//! Presence: what a member says about itself, in both of the room's dialects.
//!
//! A Tandem client sends a JSON `presence` message, checked by [`check`]. A
//! stock Yjs client sends awareness updates (the y-websocket dialect, see
//! `tandem_shared::yjs`); its connection translates them into Tandem presence
//! with an [`AwarenessReader`], off the room's thread. The room keeps one
//! presence per member and relays it in the form each other member speaks:
//! JSON to Tandem clients, an awareness entry to Yjs clients.
//!
//! For that, every member has an [`AwarenessId`]: a Yjs client's own
//! awareness client id and clock; for a Tandem client, its connection id and
//! a clock bumped on every change, so Yjs clients see it as one more
//! awareness client.

use bytes::Bytes;
use tandem_shared::close::{Close, CloseCode};
use tandem_shared::yjs::{AwarenessEntry, YjsFrame, presence_from_state, state_from_presence};
use tandem_shared::{ClientId, PeerPresence, Presence};

use super::recipient::Outbound;

/// Largest presence accepted, in bytes, as a JSON message or as an awareness
/// state: a name, a colour and two relative positions fit in a few hundred.
pub(crate) const MAX_PRESENCE_BYTES: usize = 2048;

/// Colours for Yjs users whose awareness names none.
const PALETTE: [&str; 8] = [
    "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#d19a66", "#be5046",
];

/// Checks a Tandem client's presence, `text` being the message it came in;
/// the error is the reason for the client's `bad_presence` error frame.
pub(crate) fn check(text: &str, presence: Presence) -> Result<Presence, String> {
    if text.len() > MAX_PRESENCE_BYTES {
        return Err(format!("presence larger than {MAX_PRESENCE_BYTES} bytes"));
    }
    presence.validate().map_err(str::to_string)?;
    Ok(presence)
}

/// A member's identity in Yjs awareness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AwarenessId {
    /// The awareness client id.
    pub(crate) client: u64,
    /// Increases with every change; Yjs clients keep the newest state.
    pub(crate) clock: u32,
}

impl AwarenessId {
    /// The identity a member starts with: its connection id, clock 0.
    pub(super) fn of(client: ClientId) -> Self {
        Self {
            client: client.0,
            clock: 0,
        }
    }

    /// The same client one change later.
    pub(super) fn bumped(self) -> Self {
        Self {
            client: self.client,
            clock: self.clock.wrapping_add(1),
        }
    }

    /// `presence` (or its absence) as an awareness entry under this identity.
    pub(super) fn entry(self, presence: Option<&PeerPresence>) -> AwarenessEntry {
        let presence = presence.map(|p| Presence {
            name: p.name.clone(),
            color: p.color.clone(),
            cursor: p.cursor.clone(),
        });
        AwarenessEntry {
            client: self.client,
            clock: self.clock,
            state: state_from_presence(presence.as_ref()),
        }
    }

    /// The entry that tells Yjs clients this member left: a newer clock and
    /// a `null` state.
    pub(super) fn gone(self) -> AwarenessEntry {
        self.bumped().entry(None)
    }
}

/// An awareness update carrying `entries`.
pub(super) fn awareness_frame(entries: Vec<AwarenessEntry>) -> Outbound {
    Outbound::binary(Bytes::from(YjsFrame::Awareness(entries).encode()))
}

/// What a Yjs client announced about itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Announced {
    /// Its presence; `None` when it cleared its state (it is leaving).
    pub(crate) presence: Option<Presence>,
    /// The awareness identity it used.
    pub(crate) awareness: AwarenessId,
}

/// Reads one Yjs connection's awareness updates.
#[derive(Debug, Default)]
pub(crate) struct AwarenessReader {
    /// The awareness client the connection speaks for: the first one it
    /// sent. A provider speaks for its own client only; entries about
    /// others (echoes of what the room sent it) are ignored.
    own: Option<u64>,
}

impl AwarenessReader {
    /// What connection `client` said about itself in an awareness update
    /// (`None`: nothing about itself), or the close to answer it with.
    pub(crate) fn read(
        &mut self,
        client: ClientId,
        entries: Vec<AwarenessEntry>,
    ) -> Result<Option<Announced>, Close> {
        let own = *self
            .own
            .get_or_insert(entries.first().map_or(0, |e| e.client));
        let Some(entry) = entries.into_iter().find(|e| e.client == own) else {
            return Ok(None);
        };
        if entry.state.len() > MAX_PRESENCE_BYTES {
            return Err(Close::new(
                CloseCode::BadMessage,
                format!("awareness state larger than {MAX_PRESENCE_BYTES} bytes"),
            ));
        }
        Ok(Some(Announced {
            presence: presence_from_state(&entry.state, fallback_color(client)),
            awareness: AwarenessId {
                client: entry.client,
                clock: entry.clock,
            },
        }))
    }
}

/// The colour of a Yjs user whose awareness names none: one of the palette,
/// fixed per connection.
fn fallback_color(client: ClientId) -> &'static str {
    PALETTE[(client.0 % PALETTE.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(name: &str) -> Presence {
        Presence {
            name: name.into(),
            color: "#30bced".into(),
            cursor: None,
        }
    }

    fn entry(client: u64, clock: u32, state: &str) -> AwarenessEntry {
        AwarenessEntry {
            client,
            clock,
            state: state.into(),
        }
    }

    #[test]
    fn tandem_presence_is_checked() {
        assert_eq!(check("{}", presence("Ada")), Ok(presence("Ada")));
        assert_eq!(
            check("{}", presence(" ")),
            Err("name must be 1 to 48 characters".into())
        );
        let big = " ".repeat(MAX_PRESENCE_BYTES + 1);
        assert_eq!(
            check(&big, presence("Ada")),
            Err(format!("presence larger than {MAX_PRESENCE_BYTES} bytes"))
        );
    }

    #[test]
    fn a_yjs_client_speaks_for_the_first_awareness_client_it_names() {
        let mut reader = AwarenessReader::default();
        let ada = r##"{"user":{"name":"Ada","color":"#30bced"}}"##;
        let first = reader
            .read(ClientId(1), vec![entry(77, 3, ada), entry(5, 1, "{}")])
            .expect("accepted")
            .expect("about itself");
        assert_eq!(first.presence, Some(presence("Ada")));
        assert_eq!(
            first.awareness,
            AwarenessId {
                client: 77,
                clock: 3
            }
        );
        // An echo about someone else is ignored.
        assert_eq!(reader.read(ClientId(1), vec![entry(5, 2, "{}")]), Ok(None));
        // Clearing its own state is a presence of `None`.
        let cleared = reader
            .read(ClientId(1), vec![entry(5, 2, "{}"), entry(77, 4, "null")])
            .expect("accepted")
            .expect("about itself");
        assert_eq!(cleared.presence, None);
        assert_eq!(cleared.awareness.clock, 4);
    }

    #[test]
    fn an_oversized_awareness_state_is_refused() {
        let mut reader = AwarenessReader::default();
        let state = format!(
            r#"{{"user":{{"name":"{}"}}}}"#,
            "n".repeat(MAX_PRESENCE_BYTES)
        );
        let close = reader
            .read(ClientId(1), vec![entry(1, 1, &state)])
            .expect_err("refused");
        assert_eq!(close.code, CloseCode::BadMessage);
        assert_eq!(
            close.reason,
            format!("awareness state larger than {MAX_PRESENCE_BYTES} bytes")
        );
    }

    #[test]
    fn a_yjs_user_without_a_colour_gets_one_per_connection() {
        let mut reader = AwarenessReader::default();
        let announced = reader
            .read(ClientId(11), vec![entry(1, 1, r#"{"user":{"name":"Bo"}}"#)])
            .expect("accepted")
            .expect("about itself");
        let color = announced.presence.expect("presence").color;
        assert_eq!(color, PALETTE[11 % PALETTE.len()]);
    }

    #[test]
    fn members_appear_and_leave_as_awareness_entries() {
        let id = AwarenessId::of(ClientId(9));
        assert_eq!(
            id,
            AwarenessId {
                client: 9,
                clock: 0
            }
        );
        let peer = presence("Ada").for_peer(ClientId(9));
        let shown = id.bumped().entry(Some(&peer));
        assert_eq!((shown.client, shown.clock), (9, 1));
        assert_eq!(
            presence_from_state(&shown.state, "#000000"),
            Some(presence("Ada"))
        );
        let gone = id.bumped().gone();
        assert_eq!(
            (gone.client, gone.clock, gone.state.as_str()),
            (9, 2, "null")
        );
        let wrapped = AwarenessId {
            client: 9,
            clock: u32::MAX,
        }
        .bumped();
        assert_eq!(wrapped.clock, 0);
    }
}
