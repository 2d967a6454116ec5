//! A room's yrs document and what is stored of it: loading it, applying an
//! update without trusting it, rebuilding it after a bad one, and reading it
//! as plain text.
//!
//! Loading and rebuilding read the store on a blocking thread; applying and
//! exporting are pure and run on the room's actor, the only owner of the
//! document.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use bytes::Bytes;
use tandem_shared::RoomId;
use tracing::error;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, Transact, Update};

use crate::store::{Store, StoreError, StoredRoom};

/// A document as plain text: what [`export`] reads, the download and a
/// stored version's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The title (may be empty).
    pub title: String,
    /// The body.
    pub body: String,
}

/// Why an update was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum UpdateRefused {
    /// It starts past what the room has for some client: it depends on
    /// edits the server never received. Refused before yrs saw it.
    #[error("it depends on edits this server does not have")]
    Gap,
    /// yrs refused it, possibly after applying part of it.
    #[error("{0}")]
    Rejected(String),
    /// yrs panicked on it, possibly after applying part of it.
    #[error("update made the CRDT engine panic")]
    Panicked,
}

/// Loads `room`'s stored state and builds its document from it.
pub(super) async fn load(
    store: Arc<dyn Store>,
    room: RoomId,
) -> Result<(Doc, StoredRoom), StoreError> {
    tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
        let stored = store.load(&room)?;
        let doc = build(&room, &stored);
        Ok((doc, stored))
    })
    .await
    .map_err(|join| StoreError::Other(join.to_string()))?
}

/// The document as stored, plus `unsaved`: what was applied and is not yet
/// known to be durable (updates that are already stored as well apply twice,
/// which changes nothing). Unsaved updates that do not apply are skipped.
pub(super) async fn rebuild(
    store: Arc<dyn Store>,
    room: RoomId,
    unsaved: Vec<Bytes>,
) -> Result<Doc, StoreError> {
    let (doc, _) = load(store, room).await?;
    for bytes in &unsaved {
        if let Ok(update) = Update::decode_v1(bytes) {
            let _ = catch_unwind(AssertUnwindSafe(|| doc.transact_mut().apply_update(update)));
        }
    }
    Ok(doc)
}

/// A room's document from what is stored, logging entries that are skipped.
fn build(room: &RoomId, stored: &StoredRoom) -> Doc {
    let (doc, skipped) = stored.to_doc();
    for err in skipped {
        error!(%room, error = %err, "skipping a stored update that does not apply");
    }
    doc
}

/// Applies `update` to `doc` in one transaction; whether it changed anything
/// (an update with nothing new is acknowledged but neither relayed nor stored).
///
/// A refused update may have been applied in part ([`UpdateRefused::Gap`]
/// excepted): the caller must [`rebuild`] the document.
pub(super) fn apply(doc: &Doc, update: Update) -> Result<bool, UpdateRefused> {
    apply_counted(doc, update).map(|applied| applied.changed)
}

/// What applying an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Applied {
    /// Whether it changed anything.
    pub(super) changed: bool,
    /// Each client id it brought new items for, with the first new clock
    /// (the room's state for that client before): what its sender claims
    /// (see `super::authors`).
    pub(super) grown: Vec<(u64, u32)>,
}

/// [`apply`], saying which client ids the update brought new items for.
pub(super) fn apply_counted(doc: &Doc, update: Update) -> Result<Applied, UpdateRefused> {
    // yrs would park an update with a gap as "pending" and integrate it
    // later, through code paths that crafted updates drive into
    // use-after-free (found by fuzzing, see docs/FUZZING.md); no Tandem
    // client sends one, because the state-vector exchange comes first.
    let state = doc.transact().state_vector();
    if update
        .state_vector_lower()
        .iter()
        .any(|(c, clock)| *clock > state.get(c))
    {
        return Err(UpdateRefused::Gap);
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut txn = doc.transact_mut();
        let result = txn.apply_update(update);
        // What this transaction integrated, per client id: its new items.
        let mut grown: Vec<(u64, u32)> = txn
            .insert_set()
            .iter()
            .filter_map(|(client, ranges)| {
                Some((client.get(), ranges.iter().map(|r| r.start).min()?))
            })
            .collect();
        grown.sort_unstable();
        (
            result,
            txn.has_changes() || txn.has_missing_updates(),
            grown,
        )
    }));
    match outcome {
        Ok((Ok(()), changed, grown)) => Ok(Applied { changed, grown }),
        Ok((Err(err), _, _)) => Err(UpdateRefused::Rejected(err.to_string())),
        Err(_) => Err(UpdateRefused::Panicked),
    }
}

/// The document's title and body as plain text.
pub(super) fn export(doc: &Doc) -> Exported {
    let txn = doc.transact();
    let text = |name| {
        txn.get_text(name)
            .map(|t| t.get_string(&txn))
            .unwrap_or_default()
    };
    Exported {
        title: text(tandem_shared::doc::TITLE),
        body: text(tandem_shared::doc::CONTENT),
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::doc::{CONTENT, TITLE, new_doc};
    use yrs::{StateVector, Text};

    use super::*;
    use crate::store::MemoryStore;

    /// The update that types `text` at the end of `doc`'s field `name`.
    fn typed(doc: &Doc, name: &str, text: &str) -> Vec<u8> {
        let before = doc.transact().state_vector();
        let field = doc.get_or_insert_text(name);
        let mut txn = doc.transact_mut();
        let end = field.len(&txn);
        field.insert(&mut txn, end, text);
        drop(txn);
        doc.transact().encode_diff_v1(&before)
    }

    fn decode(bytes: &[u8]) -> Update {
        Update::decode_v1(bytes).expect("a valid update")
    }

    fn body(doc: &Doc) -> String {
        export(doc).body
    }

    #[test]
    fn an_update_applies_once() {
        let author = new_doc();
        let update = typed(&author, CONTENT, "hello");
        let room = new_doc();
        assert_eq!(apply(&room, decode(&update)), Ok(true));
        assert_eq!(body(&room), "hello");
        assert_eq!(apply(&room, decode(&update)), Ok(false), "nothing new");
    }

    #[test]
    fn an_update_says_which_client_ids_it_brought_new_items_for() {
        let author = new_doc();
        let first = typed(&author, CONTENT, "hello");
        let room = new_doc();
        let applied = apply_counted(&room, decode(&first)).expect("applies");
        let client = author.client_id().get();
        assert_eq!(applied.grown, [(client, 0)]);
        let second = typed(&author, CONTENT, " you");
        assert_eq!(
            apply_counted(&room, decode(&second)).map(|a| a.grown),
            Ok(vec![(client, 5)])
        );
        // The whole state again: nothing new, nothing claimed.
        let all = author
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        assert_eq!(
            apply_counted(&room, decode(&all)),
            Ok(Applied {
                changed: false,
                grown: Vec::new()
            })
        );
    }

    #[test]
    fn an_update_with_a_gap_is_refused_before_yrs_sees_it() {
        let author = new_doc();
        let _first = typed(&author, CONTENT, "a");
        let second = typed(&author, CONTENT, "b");
        let room = new_doc();
        assert_eq!(apply(&room, decode(&second)), Err(UpdateRefused::Gap));
        assert_eq!(room.transact().state_vector(), StateVector::default());
    }

    #[test]
    fn export_reads_the_title_and_the_body() {
        let doc = new_doc();
        typed(&doc, TITLE, "Trip");
        typed(&doc, CONTENT, "Oslo, then Bergen");
        assert_eq!(
            export(&doc),
            Exported {
                title: "Trip".into(),
                body: "Oslo, then Bergen".into()
            }
        );
        assert_eq!(export(&new_doc()).title, "");
    }

    #[tokio::test]
    async fn a_rebuilt_document_is_the_stored_one_plus_what_is_unsaved() {
        let store = Arc::new(MemoryStore::default());
        let room = RoomId::new("rebuild").expect("room");
        let author = new_doc();
        let stored = typed(&author, CONTENT, "stored ");
        let unsaved = typed(&author, CONTENT, "unsaved");
        store.append(&room, &[&stored]).expect("append");
        let doc = rebuild(
            store.clone(),
            room.clone(),
            vec![
                Bytes::from(stored),
                Bytes::from(unsaved),
                Bytes::from_static(b"junk"),
            ],
        )
        .await
        .expect("rebuilt");
        assert_eq!(body(&doc), "stored unsaved");
        assert_eq!(store.loads(), 1);
    }

    #[tokio::test]
    async fn loading_skips_a_stored_entry_that_does_not_apply() {
        let store = Arc::new(MemoryStore::default());
        let room = RoomId::new("load").expect("room");
        let author = new_doc();
        let good = typed(&author, CONTENT, "kept");
        store.append(&room, &[b"junk", &good]).expect("append");
        let (doc, stored) = load(store, room).await.expect("loaded");
        assert_eq!(body(&doc), "kept");
        assert_eq!(stored.last_seq, 2);
    }
}
