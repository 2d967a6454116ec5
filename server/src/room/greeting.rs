//! What a joining connection is sent before anything else.
//!
//! A Tandem client gets its `welcome` (its id, whether it may only read, who
//! else is here and, for the editors of a protected room, the share keys),
//! then the room's sync step 1. A Yjs client gets the sync step 1, then
//! everyone's awareness, as the reference y-websocket server does: that
//! dialect has no `welcome`.

use tandem_shared::authors::Authorship;
use tandem_shared::{ClientId, PROTOCOL_VERSION, RoomId, ServerMsg, SyncFrame};
use yrs::StateVector;

use super::dialect::Dialect;
use super::members::Members;
use super::recipient::Outbound;
use crate::access::Keys;
use crate::links::{self, Link};

/// The room as a joiner first sees it.
#[derive(Debug)]
pub(super) struct Greeting<'a> {
    /// The room's name.
    pub(super) room: &'a RoomId,
    /// Whether only edit keys may change it.
    pub(super) protected: bool,
    /// Signs the share keys handed to a protected room's editors.
    pub(super) keys: &'a Keys,
    /// The room's links, whose keys those are (see [`links::share_keys`]).
    pub(super) links: &'a [Link],
    /// What the room's document holds, for the sync step 1.
    pub(super) state_vector: StateVector,
    /// Who is already in the room.
    pub(super) members: &'a Members,
    /// Who wrote what so far (see `super::authors`).
    pub(super) authors: &'a Authorship,
    /// The colour the room gives the joiner.
    pub(super) color: Option<&'a str>,
}

impl Greeting<'_> {
    /// The frames for connection `client`, speaking `dialect`, in order.
    pub(super) fn frames(
        &self,
        client: ClientId,
        dialect: Dialect,
        read_only: bool,
    ) -> Vec<Outbound> {
        let step1 = Outbound::sync(&SyncFrame::Step1(self.state_vector.clone()));
        match dialect {
            Dialect::Tandem => vec![self.welcome(client, read_only), step1],
            Dialect::Yjs => [step1]
                .into_iter()
                .chain(self.members.awareness_of_all())
                .collect(),
        }
    }

    fn welcome(&self, client: ClientId, read_only: bool) -> Outbound {
        // Keys only for protected rooms: an open room's name is its only
        // secret, and a key handed out there would stay valid if the name
        // were claimed later.
        let share = (self.protected && !read_only)
            .then(|| links::share_keys(self.keys, self.room, self.links, links::now_ms()))
            .flatten();
        let welcome = ServerMsg::Welcome {
            protocol: PROTOCOL_VERSION,
            client_id: client,
            room: self.room.clone(),
            read_only,
            peers: self.members.presences(),
            share,
            authors: self.authors.clone(),
            color: self.color.map(str::to_owned),
        };
        Outbound::json(&welcome)
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::Presence;

    use super::super::members::Peer;
    use super::super::recipient::testing::TestMember;
    use super::*;
    use crate::access::Right;

    fn welcome_of(frames: &[Outbound]) -> ServerMsg {
        assert!(frames[0].is_text(), "{:?}", frames[0]);
        serde_json::from_slice(frames[0].payload()).expect("json")
    }

    fn is_step1(frame: &Outbound) -> bool {
        !frame.is_text() && matches!(SyncFrame::decode(frame.payload()), Ok(SyncFrame::Step1(_)))
    }

    #[test]
    fn a_tandem_client_is_welcomed_then_sent_the_rooms_state() {
        let room = RoomId::new("greeting").expect("room");
        let keys = Keys::ephemeral().expect("keys");
        let mut members = Members::new(room.clone());
        let member = TestMember::new(8);
        members.add(
            ClientId(1),
            Peer::new(ClientId(1), member.recipient(), false, Dialect::Tandem),
        );
        let ada = Presence {
            name: "Ada".into(),
            color: "#30bced".into(),
            cursor: None,
        };
        members.set_presence(ClientId(1), Some(ada.clone()), None);
        let standing = links::standing(Vec::new());
        let authors = Authorship {
            authors: Vec::new(),
            claims: vec![tandem_shared::authors::Claim {
                client: 1001,
                clock: 0,
                author: tandem_shared::authors::AuthorId::new("p-ada").expect("id"),
            }],
        };
        let greeting = |protected| Greeting {
            room: &room,
            protected,
            keys: &keys,
            links: &standing,
            state_vector: StateVector::default(),
            members: &members,
            authors: &authors,
            color: Some("#1a7bb8"),
        };

        let frames = greeting(false).frames(ClientId(2), Dialect::Tandem, false);
        assert_eq!(frames.len(), 2);
        assert!(is_step1(&frames[1]));
        assert_eq!(
            welcome_of(&frames),
            ServerMsg::Welcome {
                protocol: PROTOCOL_VERSION,
                client_id: ClientId(2),
                room: room.clone(),
                read_only: false,
                peers: vec![ada.for_peer(ClientId(1))],
                share: None,
                authors: authors.clone(),
                color: Some("#1a7bb8".into()),
            },
            "an open room hands out no keys; the authorship and the joiner's colour"
        );

        let editor = welcome_of(&greeting(true).frames(ClientId(2), Dialect::Tandem, false));
        let ServerMsg::Welcome {
            share: Some(share), ..
        } = editor
        else {
            panic!("an editor of a protected room gets the keys");
        };
        assert_eq!(keys.verify(&room, &share.edit), Some(Right::Edit));
        assert_eq!(keys.verify(&room, &share.view), Some(Right::View));
        let viewer = welcome_of(&greeting(true).frames(ClientId(3), Dialect::Tandem, true));
        assert!(matches!(
            viewer,
            ServerMsg::Welcome {
                read_only: true,
                share: None,
                ..
            }
        ));
    }

    #[test]
    fn a_yjs_client_gets_the_rooms_state_then_everyones_awareness() {
        let room = RoomId::new("greeting").expect("room");
        let keys = Keys::ephemeral().expect("keys");
        let mut members = Members::new(room.clone());
        let frames = |members: &Members, client| {
            Greeting {
                room: &room,
                protected: false,
                keys: &keys,
                links: &[],
                state_vector: StateVector::default(),
                members,
                authors: &Authorship::default(),
                color: None,
            }
            .frames(client, Dialect::Yjs, false)
        };
        let alone = frames(&members, ClientId(1));
        assert_eq!(alone.len(), 1, "nobody's awareness to send");
        assert!(is_step1(&alone[0]));

        let member = TestMember::new(8);
        members.add(
            ClientId(1),
            Peer::new(ClientId(1), member.recipient(), false, Dialect::Tandem),
        );
        let ada = Presence {
            name: "Ada".into(),
            color: "#30bced".into(),
            cursor: None,
        };
        members.set_presence(ClientId(1), Some(ada), None);
        let frames = frames(&members, ClientId(2));
        assert_eq!(frames.len(), 2);
        assert!(is_step1(&frames[0]));
        assert!(
            !frames[1].is_text() && frames[1].payload()[0] == 1,
            "awareness"
        );
    }
}
