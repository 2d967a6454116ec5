//! The layout of a Tandem document, so every peer binds to the same shared types.
//!
//! A room holds one yrs [`Doc`] with these root types:
//!
//! | name | type | holds |
//! |---|---|---|
//! | `content` | `Y.Text` | the body of the document |
//! | `title` | `Y.Text` | the document's title |
//! | `comments` | `Y.Map` | comment threads anchored to the body (see [`crate::comments`]) |
//!
//! A Yjs application joins by binding `ydoc.getText("content")` and
//! `ydoc.getText("title")`; one that shows comments reads
//! `ydoc.getMap("comments")`.

use yrs::{Doc, OffsetKind, Options};

/// Name of the root `Y.Text` holding the document body.
pub const CONTENT: &str = "content";
/// Name of the root `Y.Text` holding the document title.
pub const TITLE: &str = "title";
/// Name of the root `Y.Map` holding the comment threads.
pub const COMMENTS: &str = "comments";
/// The document's two texts, by what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The body, [`CONTENT`].
    Content,
    /// The title, [`TITLE`].
    Title,
}

impl Field {
    /// Both, body first.
    pub const ALL: [Self; 2] = [Self::Content, Self::Title];

    /// The name of its root `Y.Text`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Content => CONTENT,
            Self::Title => TITLE,
        }
    }
}

/// Longest title the editor lets a person type, in UTF-16 code units.
pub const TITLE_MAX_LEN: usize = 200;

/// A new, empty document configured the way Tandem reads it: indexes count
/// UTF-16 code units, like JavaScript strings and browser text fields, so a
/// caret position from the page is a valid index without conversion.
pub fn new_doc() -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    })
}
