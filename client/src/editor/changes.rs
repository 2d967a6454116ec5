//! What a transaction changed in the document's texts, in words:
//! `insert 'a' at 5`, `delete 3 at 10`, `title: insert 'x' at 0`.
//!
//! Built from the yrs text events (the delta) of the transaction that
//! produced or applied an update, never by re-parsing the update's bytes, so
//! the frame inspector says exactly what happened to the text. The words
//! are `tandem_shared::describe`'s, shared with `tandem connect`.

pub(crate) use tandem_shared::describe::{TextChange, describe, from_delta};
