//! Rooms: one actor task per open document.
//!
//! The [`registry`] finds or creates a room's actor in one step; the actor
//! (`actor`) owns the room's yrs `Doc` and its members, and is the only code
//! that touches either. Everything else talks to it through a
//! [`RoomHandle`] over a bounded channel, sending `RoomCmd`s.
//!
//! | file | concept |
//! |---|---|
//! | `registry` | the set of loaded rooms; starts a room's actor |
//! | `table` | the map of loaded rooms, and the narrow `Listing` through which a room removes itself |
//! | `context` | what every room is given at spawn: store, keys, [`RoomSettings`], shutdown, metric labels |
//! | `handle`, `command` | the actor's inbox: [`RoomHandle`] and the commands and answers it carries |
//! | `actor` | membership, applying updates, dispatching commands |
//! | `greeting` | what a joining connection is sent first (`welcome`, sync step 1, awareness) |
//! | `members` | the members and how messages reach them (fan-out, slow consumers) |
//! | `recipient` | what the room sends ([`Outbound`]) and where ([`Recipient`]: a member's connection, in `crate::ws`) |
//! | `dialect` | the protocol a member speaks ([`Dialect`]) |
//! | `presence` | presence in both dialects: Tandem JSON and Yjs awareness |
//! | `document` | the yrs document: loading, applying untrusted updates, rebuilding, export |
//! | `pipeline` | group commit, `saved` acknowledgements and compaction |
//! | `history` | checkpoints, retention and restore (version history) |
//! | `authors` | who wrote what: members as authors, claims of client ids, colours, characters counted |

mod actor;
mod authors;
mod command;
mod context;
mod dialect;
mod document;
mod greeting;
mod handle;
pub mod history;
mod link_table;
mod members;
mod pipeline;
mod presence;
mod recipient;
pub mod registry;
mod table;
#[cfg(test)]
mod tests;

pub(crate) use authors::Identity;
pub(crate) use command::RoomCmd;
pub use command::{Claim, JoinRefused, RoomGone};
pub use context::RoomSettings;
pub use dialect::Dialect;
pub use document::Exported;
pub use handle::RoomHandle;
pub use history::{HistoryError, HistoryPolicy};
#[cfg(test)]
pub(crate) use presence::MAX_PRESENCE_BYTES;
pub(crate) use presence::{Announced, AwarenessReader, check as check_presence};
pub use recipient::{Outbound, Recipient, SendError};
pub use registry::Registry;
