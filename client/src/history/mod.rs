//! Version history on the page: the server's history API ([`api`]) and
//! what changed between two texts ([`diff`]), for the History panel.
//!
//! | file | concept |
//! |---|---|
//! | `api` | `GET`/`POST /api/rooms/{room}/versions…` with the page's key |
//! | `diff` | a line diff of two texts, for marking insertions and deletions |
//! | `authored` | who wrote each insertion, and a version's changes by person |

mod api;
mod authored;
mod diff;

pub(crate) use api::{list_versions, name_version, restore_version, version_authors};
pub(crate) use authored::{Changed, Marked, by_author, changed};
pub(crate) use diff::{Change, diff};
