//! The page's Markdown, apart from the components that show it: the
//! document's blocks as the page keeps them ([`MarkdownState`]), which keys
//! are which actions ([`keys`]), the Edit / Split / Preview modes
//! ([`ViewMode`]), the block-by-block scroll mapping between editor and
//! preview ([`scroll_sync`]), and replacing only the blocks that changed in
//! a container of the page ([`reconcile`]). The Markdown itself (parsing,
//! highlighting, rendering, the edits) is `tandem_shared::markdown`.

pub(crate) mod keys;
mod mode;
pub(crate) mod reconcile;
pub(crate) mod scroll_sync;
mod state;

pub(crate) use mode::{STORAGE_KEY as VIEW_MODE_KEY, ViewMode};
pub(crate) use state::MarkdownState;
