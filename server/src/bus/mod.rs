//! The bus between the nodes of a cluster (`--redis-url`): one Redis Stream
//! per room carrying the updates each node has committed.
//!
//! A room's actor [`Bus::subscribe`]s before it loads the room: the
//! subscription notes the stream's newest entry first, so anything
//! committed while the room loads is read afterwards (CRDT updates are
//! idempotent, so reading some twice is free). After each commit the actor
//! [`Bus::publish`]es the batch with the log sequence numbers it got; other
//! nodes' readers hand it to their copy of the room ([`Remote::Update`]),
//! which applies it and relays it to its own clients. Nothing waits for
//! Redis: publishing is a bounded queue to the publisher task, reading a
//! task of its own.
//!
//! Presence travels the same streams, as ephemeral entries: other nodes
//! show a member's presence to their own members ([`Remote::Presence`]),
//! and drop a dead node's people ([`Remote::NodeGone`], from `liveness`).
//! A node that loads a room (or gets Redis back) cannot have seen the
//! presence entries published before, so it publishes a presence query;
//! every node holding the room answers ([`Remote::PresenceQuery`]) with its
//! members' current presence, which the asking node reads like any other.
//!
//! When a node cannot be sure it has read everything — Redis was
//! unreachable, the stream was trimmed past its position (the retention
//! window: `--bus-retention`, `--bus-max-len`), its room's queue
//! overflowed, or another node could not publish a commit — the room gets
//! [`Remote::Resync`]: it reloads from the store, which holds every
//! committed update, and merges.
//!
//! | file | concept |
//! |---|---|
//! | `node` | [`Bus`], this node's side of the bus, and a room's subscription ([`RoomFeed`]) |
//! | `remote` | [`Remote`]: what a room's actor receives from the other nodes |
//! | `client_ids` | the node tag packed into the ids other nodes' people are shown under |
//! | `shared` | the state the handle, the reader and the publisher share |
//! | `settings` | [`BusSettings`] and every timing and bound of the bus |
//! | `url` | [`RedisUrl`]: `--redis-url`, its password kept out of logs |
//! | `entry` | key names, stream ids, the fields of an entry |
//! | `reader` | the task reading every subscribed room's stream |
//! | `publisher` | the task appending committed updates |
//! | `liveness` | each node's key with a TTL; rooms resync when another node dies |
//! | `seqs` | which log rows a room holds, so compaction never drops others' |
//! | `counts` | this node's connection counts by room and address |
//! | `tracking` | those counts mirrored in Redis, so limits count the whole cluster |

mod client_ids;
mod counts;
mod entry;
mod liveness;
mod node;
mod publisher;
mod reader;
mod remote;
mod seqs;
mod settings;
mod shared;
mod tracking;
mod url;

pub use client_ids::{node_of, node_tag, remote_client};
pub use node::{Bus, RoomFeed};
pub(crate) use publisher::now_us;
pub use remote::Remote;
pub(crate) use seqs::SeqSet;
pub use settings::BusSettings;
pub use tracking::{Tracked, Verdict};
pub use url::RedisUrl;
