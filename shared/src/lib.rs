//! Tandem's wire protocol, shared by the server and the browser client.
//!
//! Everything both sides must agree on lives here and nowhere else: the names
//! that are validated on both ends ([`RoomId`], [`ClientId`]), the JSON control
//! messages carried in text frames ([`ServerMsg`], [`ClientMsg`]), the binary
//! y-sync frames ([`SyncFrame`]), the close codes ([`close`]), the layout of
//! a Tandem document ([`doc`]), frames and edits in words ([`describe`]) and the client's side of a connection as a
//! state machine every client drives ([`session`]) and the Markdown of a
//! document ([`markdown`]: highlighting, rendering, shortcuts). The crate has no I/O and builds for native and
//! `wasm32-unknown-unknown`.

pub mod authors;
pub mod close;
pub mod comments;
pub mod describe;
pub mod doc;
pub mod guard;
pub mod history;
mod ids;
pub mod links;
pub mod markdown;
pub mod palette;
pub mod protocol;
pub mod session;
pub mod splice;
pub mod yjs;

pub use ids::{ClientId, InvalidRoomId, RoomId};
pub use protocol::{
    ClientMsg, CreatedRoom, Cursor, DecodeError, ErrorCode, PROTOCOL_VERSION, PeerPresence,
    Presence, SUBPROTOCOL, ServerMsg, ShareKeys, SyncFrame,
};
pub use session::{ClientSession, Replica};
