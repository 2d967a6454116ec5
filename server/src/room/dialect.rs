//! The protocol a member speaks, which decides the form of what the room
//! sends it: presence as JSON or as awareness updates, `saved` or nothing.
//! The upgrade picks it from the route (`crate::ws`); the room's members
//! and greeting read it.

/// The protocol a connection speaks: Tandem's own (`/ws`), or the
/// y-websocket dialect of stock Yjs clients (`/yjs`, see `tandem_shared::yjs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// JSON control frames and `saved` acknowledgements; presence as JSON.
    Tandem,
    /// Binary only; presence as awareness updates; no acknowledgements.
    Yjs,
}
