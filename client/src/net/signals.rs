//! The signals the connection writes for the page, and how the session's
//! state becomes what they show: the header's badges, room name, rights,
//! share keys, the presence table and the inspector's history. The session
//! is the source of truth; these are its snapshots.

use leptos::prelude::{RwSignal, Set};
use tandem_shared::session::SaveState;
use tandem_shared::{ClientSession, Replica, RoomId, ShareKeys};

use super::PageSession;
use super::access::AccessNotice;
use super::inputs::Inputs;
use super::status::ConnectionState;
use crate::inspector::FrameLog;
use crate::presence::PresenceTable;

/// The signals the connection writes for the header (and the inspector).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionSignals {
    /// The `connection-state` badge.
    pub(crate) connection: RwSignal<ConnectionState>,
    /// The `save-state` badge.
    pub(crate) save: RwSignal<SaveState>,
    /// The room name the server confirmed in `welcome`.
    pub(crate) room: RwSignal<Option<RoomId>>,
    /// Whether the server made this connection view-only.
    pub(crate) read_only: RwSignal<bool>,
    /// The room's share-link keys, when the server gives them (editors only).
    pub(crate) share: RwSignal<Option<ShareKeys>>,
    /// The others in the room; empty while disconnected.
    pub(crate) peers: RwSignal<PresenceTable>,
    /// Every frame sent and received, for the inspector.
    pub(crate) frames: RwSignal<FrameLog>,
    /// What happened to the page's access while it was open (its link
    /// narrowed or revoked), for the notice under the header.
    pub(crate) access: RwSignal<AccessNotice>,
}

impl SessionSignals {
    pub(crate) fn new() -> Self {
        Self {
            connection: RwSignal::new(ConnectionState::Connecting),
            save: RwSignal::new(SaveState::Saved),
            room: RwSignal::new(None),
            read_only: RwSignal::new(false),
            share: RwSignal::new(None),
            peers: RwSignal::new(PresenceTable::default()),
            frames: RwSignal::new(FrameLog::default()),
            access: RwSignal::new(AccessNotice::None),
        }
    }

    /// The connection badge.
    pub(super) fn set_connection(&self, state: ConnectionState) {
        self.connection.try_set(state);
    }

    /// The save badge, from the session's counters; returns what it shows.
    pub(super) fn show_save<R: Replica>(&self, session: &ClientSession<R>) -> SaveState {
        let state = session.save_state();
        self.save.try_set(state);
        state
    }

    /// The save badge, and the stored copy's flag that says it may hold
    /// edits the server does not have: still set while a local update waits
    /// in `inputs`, which the session has not counted (an acknowledgement
    /// read before it says nothing about it).
    pub(super) fn publish_save(&self, session: &PageSession, inputs: &Inputs) {
        let state = self.show_save(session);
        let doc = session.replica();
        let queued = inputs.updates_queued(doc.updates_made());
        doc.set_unsaved(state != SaveState::Saved || queued);
    }

    /// What a `welcome` told the session: room, rights, share keys, the
    /// others, and the badge says connected.
    pub(super) fn show_welcome<R: Replica>(&self, session: &ClientSession<R>) {
        self.room.try_set(session.room().cloned());
        self.read_only.try_set(session.read_only());
        self.share.try_set(session.share().cloned());
        self.show_peers(session);
        if let Some(client_id) = session.client_id() {
            self.set_connection(ConnectionState::Connected { client_id });
        }
    }

    /// The presence table, as the session now has it (empty once a
    /// connection ended).
    pub(super) fn show_peers<R: Replica>(&self, session: &ClientSession<R>) {
        self.peers.try_set(PresenceTable::of(session.peers()));
    }
}

#[cfg(test)]
mod tests {
    use leptos::prelude::GetUntracked;
    use tandem_shared::doc::new_doc;
    use tandem_shared::{
        ClientId, PROTOCOL_VERSION, PeerPresence, ServerMsg, ShareKeys, SyncFrame,
    };

    use super::*;

    fn peer(id: u64, name: &str) -> PeerPresence {
        PeerPresence {
            client_id: ClientId(id),
            name: name.into(),
            color: "#1a7bb8".into(),
            cursor: None,
        }
    }

    fn welcome(read_only: bool, share: Option<ShareKeys>) -> String {
        ServerMsg::Welcome {
            protocol: PROTOCOL_VERSION,
            client_id: ClientId(5),
            room: RoomId::new("quiet-otter").expect("valid"),
            read_only,
            peers: vec![peer(3, "Bob"), peer(1, "Ada"), peer(5, "Me")],
            share,
            authors: Default::default(),
            color: None,
        }
        .to_json()
    }

    fn names(signals: &SessionSignals) -> Vec<String> {
        signals
            .peers
            .get_untracked()
            .peers()
            .map(|p| p.name.clone())
            .collect()
    }

    #[test]
    fn a_welcome_fills_the_header() {
        let signals = SessionSignals::new();
        let mut session = ClientSession::new(new_doc(), false);
        let _hello = session.open();
        let keys = ShareKeys {
            edit: "e.1".into(),
            view: "v.1".into(),
        };
        session
            .receive_text(&welcome(false, Some(keys.clone())))
            .expect("welcome");
        signals.show_welcome(&session);
        assert_eq!(
            signals.connection.get_untracked(),
            ConnectionState::Connected {
                client_id: ClientId(5)
            }
        );
        assert_eq!(
            signals.room.get_untracked().map(|r| r.to_string()),
            Some("quiet-otter".to_owned())
        );
        assert!(!signals.read_only.get_untracked());
        assert_eq!(signals.share.get_untracked(), Some(keys));
        assert_eq!(names(&signals), ["Ada", "Bob"], "never ourselves");
    }

    #[test]
    fn presence_follows_the_session_and_ends_with_the_connection() {
        let signals = SessionSignals::new();
        let mut session = ClientSession::new(new_doc(), false);
        let _hello = session.open();
        session.receive_text(&welcome(true, None)).expect("welcome");
        signals.show_welcome(&session);
        assert!(signals.read_only.get_untracked());
        session
            .receive_text(&ServerMsg::Presence(peer(8, "Cy")).to_json())
            .expect("presence");
        session
            .receive_text(
                &ServerMsg::PeerLeft {
                    client_id: ClientId(3),
                }
                .to_json(),
            )
            .expect("peer left");
        signals.show_peers(&session);
        assert_eq!(names(&signals), ["Ada", "Cy"]);
        session.closed();
        signals.show_peers(&session);
        assert!(names(&signals).is_empty(), "no ghost survives a reconnect");
    }

    #[test]
    fn the_save_badge_follows_the_counters() {
        let signals = SessionSignals::new();
        let mut session = ClientSession::new(new_doc(), true);
        assert_eq!(signals.show_save(&session), SaveState::Unsaved);
        assert_eq!(signals.save.get_untracked(), SaveState::Unsaved);
        let _hello = session.open();
        session
            .receive_text(&welcome(false, None))
            .expect("welcome");
        let step1 = SyncFrame::Step1(Default::default()).encode();
        session.receive_binary(&step1).expect("step 1");
        assert_eq!(signals.show_save(&session), SaveState::Saving);
        session
            .receive_text(&ServerMsg::Saved { updates: 1 }.to_json())
            .expect("saved");
        assert_eq!(signals.show_save(&session), SaveState::Saved);
    }
}
