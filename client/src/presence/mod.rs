//! Presence: who is in the room and where their cursors are.
//!
//! - [`identity`]: this browser's name and colour (stored, with defaults).
//! - [`throttle`]: at most one `presence` message per 50 ms (pure, tested).
//! - [`table`]: the others in the room, a snapshot of the connection's
//!   session (which keeps them from `welcome`, `presence` and `peer_left`).
//! - [`reporter`]: builds this tab's presence from the page and hands it to
//!   the connection's presence inbox.
//!
//! The connection task owns the throttle and writes the table; the page
//! reports caret and name changes and draws the table (participants in the
//! header, carets in the editor). Presence depends on `editor` only; `net`
//! depends on presence, never the other way round.

mod identity;
mod reporter;
mod table;
mod throttle;

pub(crate) use identity::{Identity, clean_name, initials, safe_color};
pub(crate) use reporter::PresenceReporter;
pub(crate) use table::PresenceTable;
pub(crate) use throttle::PresenceThrottle;
