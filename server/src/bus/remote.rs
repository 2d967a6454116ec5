//! What a room's actor receives from the other nodes through its
//! subscription ([`RoomFeed`](super::RoomFeed)).

use bytes::Bytes;

/// What a room's actor receives from other nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote {
    /// Another node committed log rows `first..=last` as `update`.
    Update {
        /// First log sequence number covered.
        first: u64,
        /// Last log sequence number covered.
        last: u64,
        /// One v1 update.
        update: Bytes,
        /// When the other node published it (µs since the Unix epoch, its
        /// clock), for [`crate::metrics::BUS_DELIVERY_SECONDS`].
        published_us: Option<u64>,
    },
    /// Something may have been missed: reload from the store and merge.
    Resync,
    /// Someone on another node, shown here as `peer`, set its presence or
    /// (`None`) left.
    Presence {
        /// The id this node shows them under ([`remote_client`](super::remote_client)).
        peer: tandem_shared::ClientId,
        /// What they said about themselves.
        presence: Option<tandem_shared::Presence>,
    },
    /// A node stopped beating: everyone it showed here
    /// ([`node_of`](super::node_of) equal to `tag`) is gone.
    NodeGone {
        /// See [`node_tag`](super::node_tag).
        tag: u64,
    },
    /// Another node loaded the room and asks for its people: answer with
    /// [`Bus::answer_presence_query`](super::Bus::answer_presence_query).
    PresenceQuery,
    /// Another node changed the room's share links in the store: read them
    /// again (a resync does too).
    Links,
    /// Another node recorded this change of the room's authorship (it
    /// stored it with the rows that follow).
    Authors(tandem_shared::authors::Authorship),
}
