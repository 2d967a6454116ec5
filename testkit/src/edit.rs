//! Edits to a document's body as the v1 updates they make, one transaction
//! each: what every native client here sends after editing its replica.

use yrs::{Doc, Text as _, TextRef, Transact as _};

/// Inserts `chunk` at UTF-16 offset `index` of `text` in `doc`.
pub fn insert(doc: &Doc, text: &TextRef, index: u32, chunk: &str) -> Vec<u8> {
    let mut txn = doc.transact_mut();
    text.insert(&mut txn, index, chunk);
    txn.encode_update_v1()
}

/// Appends `chunk` to `text` in `doc`.
pub fn append(doc: &Doc, text: &TextRef, chunk: &str) -> Vec<u8> {
    let mut txn = doc.transact_mut();
    let len = text.len(&txn);
    text.insert(&mut txn, len, chunk);
    txn.encode_update_v1()
}

/// Deletes `len` UTF-16 units of `text` in `doc` from `index`.
pub fn delete(doc: &Doc, text: &TextRef, index: u32, len: u32) -> Vec<u8> {
    let mut txn = doc.transact_mut();
    text.remove_range(&mut txn, index, len);
    txn.encode_update_v1()
}
