//! The room's presence table as this tab knows it: who else is here, with
//! name, colour and cursor. Filled by `welcome`, kept current by `presence`
//! and `peer_left`, and emptied when the connection ends (the next welcome
//! brings it back), so nobody lingers as a ghost.

use std::collections::BTreeMap;

use tandem_shared::{ClientId, PeerPresence};

/// The other connections in the room, by client id (join order, since the
/// server hands out increasing ids).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PresenceTable {
    peers: BTreeMap<ClientId, PeerPresence>,
}

impl PresenceTable {
    /// The table a `welcome` describes; `own` (this connection) is left out.
    pub(crate) fn from_welcome(own: ClientId, peers: Vec<PeerPresence>) -> Self {
        let mut table = Self::default();
        for peer in peers {
            table.upsert(own, peer);
        }
        table
    }

    /// A `presence` message: someone joined or changed.
    pub(crate) fn upsert(&mut self, own: ClientId, peer: PeerPresence) {
        if peer.client_id != own {
            self.peers.insert(peer.client_id, peer);
        }
    }

    /// A `peer_left` message.
    pub(crate) fn remove(&mut self, client_id: ClientId) {
        self.peers.remove(&client_id);
    }

    /// Everyone else, in join order.
    pub(crate) fn peers(&self) -> impl Iterator<Item = &PeerPresence> {
        self.peers.values()
    }

    /// How many others are here.
    pub(crate) fn len(&self) -> usize {
        self.peers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: u64, name: &str) -> PeerPresence {
        PeerPresence {
            client_id: ClientId(id),
            name: name.into(),
            color: "#1a7bb8".into(),
            cursor: None,
        }
    }

    fn names(table: &PresenceTable) -> Vec<&str> {
        table.peers().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn welcome_then_changes_then_leaving() {
        let own = ClientId(5);
        let mut table = PresenceTable::from_welcome(own, vec![peer(3, "Bob"), peer(1, "Ada")]);
        assert_eq!(names(&table), ["Ada", "Bob"]);
        table.upsert(own, peer(7, "Cy"));
        table.upsert(own, peer(1, "Ada L."));
        assert_eq!(names(&table), ["Ada L.", "Bob", "Cy"]);
        table.remove(ClientId(3));
        table.remove(ClientId(99));
        assert_eq!(names(&table), ["Ada L.", "Cy"]);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn this_connection_is_never_a_peer() {
        let own = ClientId(2);
        let mut table = PresenceTable::from_welcome(own, vec![peer(2, "Me")]);
        table.upsert(own, peer(2, "Me again"));
        assert_eq!(table.len(), 0);
    }
}
