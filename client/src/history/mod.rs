//! Version history on the page: the server's history API ([`api`]) and
//! what changed between two texts ([`diff`]), for the History panel.
//!
//! | file | concept |
//! |---|---|
//! | `api` | `GET`/`POST /api/rooms/{room}/versions…` with the page's key |
//! | `diff` | a line diff of two texts, for marking insertions and deletions |

mod api;
mod diff;

pub(crate) use api::{list_versions, name_version, restore_version, version_text};
pub(crate) use diff::{Change, Piece, diff};
