//! The yrs side of version history: the text a stored state holds
//! ([`decode`]) and its comment threads ([`decode_restore`]), and the
//! update that turns the live document's text and comments into an old
//! version's ([`splice`]), made on a scratch copy so the live document only
//! ever changes through the room's ordinary apply path.

use tandem_shared::comments::{self, COMMENTS, Placed};
use tandem_shared::doc::{CONTENT, TITLE};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

use super::request::HistoryError;
use crate::room::document::{self, Exported};

/// The document an encoded state holds.
fn build(state: &[u8]) -> Result<Doc, HistoryError> {
    let update = Update::decode_v1(state).map_err(|_| HistoryError::Damaged)?;
    let doc = tandem_shared::doc::new_doc();
    let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        doc.transact_mut().apply_update(update)
    }));
    match applied {
        Ok(Ok(())) => Ok(doc),
        _ => Err(HistoryError::Damaged),
    }
}

/// The text of an encoded state.
pub fn decode(state: &[u8]) -> Result<Exported, HistoryError> {
    build(state).map(|doc| document::export(&doc))
}

/// The text of an encoded state and its comment threads, each placed in
/// that text: what a restore puts back.
pub fn decode_restore(state: &[u8]) -> Result<(Exported, Vec<Placed>), HistoryError> {
    let doc = build(state)?;
    let notes = doc.get_or_insert_map(COMMENTS);
    let threads = comments::placed(&doc.transact(), &notes);
    Ok((document::export(&doc), threads))
}

/// The update that turns `doc`'s title and body into `target`'s through the
/// smallest splice of each, and its comment threads into `threads`
/// ([`comments::restore_threads`]), made on a scratch copy; `None` if they
/// are equal already.
pub fn splice(doc: &Doc, target: &Exported, threads: &[Placed]) -> Option<Vec<u8>> {
    let before = doc.transact().state_vector();
    let scratch = tandem_shared::doc::new_doc();
    {
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let update = Update::decode_v1(&state).ok()?;
        scratch.transact_mut().apply_update(update).ok()?;
    }
    let mut changed = false;
    for (field, wanted) in [(TITLE, &target.title), (CONTENT, &target.body)] {
        let text = scratch.get_or_insert_text(field);
        let current: Vec<u16> = text
            .get_string(&scratch.transact())
            .encode_utf16()
            .collect();
        let wanted: Vec<u16> = wanted.encode_utf16().collect();
        let edit = tandem_shared::splice::splice(&current, &wanted, None);
        if edit.is_empty() {
            continue;
        }
        // Offsets are UTF-16 units, as the document counts them; a text
        // never reaches u32::MAX units (the document size limit is far lower).
        let at = u32::try_from(edit.index).unwrap_or(u32::MAX);
        let mut txn = scratch.transact_mut();
        if edit.delete > 0 {
            text.remove_range(&mut txn, at, u32::try_from(edit.delete).unwrap_or(u32::MAX));
        }
        if !edit.insert.is_empty() {
            text.insert(
                &mut txn,
                at,
                &String::from_utf16_lossy(&wanted[edit.insert]),
            );
        }
        changed = true;
    }
    let notes = scratch.get_or_insert_map(COMMENTS);
    let body = scratch.get_or_insert_text(CONTENT);
    changed |= comments::restore_threads(&mut scratch.transact_mut(), &notes, &body, threads);
    changed.then(|| scratch.transact().encode_diff_v1(&before))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(doc: &Doc, update: &[u8]) {
        let update = Update::decode_v1(update).expect("decodes");
        doc.transact_mut().apply_update(update).expect("applies");
    }

    #[test]
    fn a_splice_turns_the_document_into_the_target() {
        let doc = tandem_shared::doc::new_doc();
        let body = doc.get_or_insert_text(CONTENT);
        body.insert(&mut doc.transact_mut(), 0, "The quick brown fox 🦊");
        let target = Exported {
            title: "Fox".into(),
            body: "The slow brown fox 🦊 sleeps".into(),
        };
        let update = splice(&doc, &target, &[]).expect("a change");
        apply(&doc, &update);
        assert_eq!(document::export(&doc), target);
        assert_eq!(splice(&doc, &target, &[]), None, "nothing left to change");
    }

    #[test]
    fn edits_made_after_the_splice_was_computed_survive_it() {
        let doc = tandem_shared::doc::new_doc();
        let body = doc.get_or_insert_text(CONTENT);
        body.insert(&mut doc.transact_mut(), 0, "draft two");
        let target = Exported {
            title: String::new(),
            body: "draft one".into(),
        };
        let update = splice(&doc, &target, &[]).expect("a change");
        // Someone types while the checkpoint before the restore is stored.
        let end = body.len(&doc.transact());
        body.insert(&mut doc.transact_mut(), end, "!");
        apply(&doc, &update);
        // Concurrent with the splice, it survives (where the CRDT puts it).
        let body = document::export(&doc).body;
        assert_eq!(body.matches('!').count(), 1, "{body}");
        assert_eq!(body.replace('!', ""), "draft one", "{body}");
    }

    #[test]
    fn a_state_that_does_not_decode_is_damaged() {
        assert_eq!(decode(&[1, 2, 3]), Err(HistoryError::Damaged));
        let doc = tandem_shared::doc::new_doc();
        doc.get_or_insert_text(CONTENT)
            .insert(&mut doc.transact_mut(), 0, "kept");
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        assert_eq!(decode(&state).map(|e| e.body), Ok("kept".into()));
    }
}
