//! The room's presence table as the page shows it: who else is here, with
//! name, colour and cursor. The connection's `ClientSession` keeps the
//! table (filled by `welcome`, kept current by `presence` and `peer_left`,
//! emptied when the connection ends, so nobody lingers as a ghost); this is
//! the snapshot of it the components read through a signal.

use std::collections::BTreeMap;

use tandem_shared::{ClientId, PeerPresence};

/// The other connections in the room, by client id (join order, since the
/// server hands out increasing ids).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PresenceTable {
    /// A copy of the session's peers: the session never lists this connection.
    peers: BTreeMap<ClientId, PeerPresence>,
}

impl PresenceTable {
    /// A snapshot of the session's peers.
    pub(crate) fn of(peers: &BTreeMap<ClientId, PeerPresence>) -> Self {
        Self {
            peers: peers.clone(),
        }
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

    #[test]
    fn a_snapshot_lists_peers_in_join_order() {
        let session: BTreeMap<_, _> = [peer(3, "Bob"), peer(1, "Ada"), peer(7, "Cy")]
            .into_iter()
            .map(|p| (p.client_id, p))
            .collect();
        let table = PresenceTable::of(&session);
        let names: Vec<&str> = table.peers().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Ada", "Bob", "Cy"]);
        assert_eq!(table.len(), 3);
        assert_eq!(PresenceTable::default().len(), 0);
    }
}
