//! The comment right, checked on the CRDT: does an update change nothing
//! but the comments?
//!
//! A connection that may only comment sends ordinary y-sync updates. The
//! server runs [`check_comment_update`] on each against the room's document
//! before applying it, and refuses the whole update when any part of what it
//! *would change* lies outside the root map [`COMMENTS`]:
//!
//! - every new item must join the comments, found from the item's written
//!   parent, or from the item its left or right origin names (the item
//!   joins that one's parent), following origins through the update itself
//!   and through the room's document (yrs [`StickyIndex::get_offset`] names
//!   an existing item's parent);
//! - every deletion of an item the room holds and has not deleted yet must
//!   be of an item under the comments;
//! - nothing may depend on items the room does not have: yrs would keep such
//!   an update pending and apply it later, unchecked.
//!
//! What the room has already changes nothing and passes: blocks below the
//! room's state vector, and deletions of items already deleted (a client's
//! sync step 2 repeats its whole delete set). GC blocks and skips carry no
//! content and pass. The update is first checked against the same grammar
//! as [`crate::guard::check_update_v1`].

use std::collections::{HashMap, HashSet};
use std::fmt;

use yrs::updates::decoder::Decode;
use yrs::{Assoc, BranchID, ID, ReadTxn, StateVector, StickyIndex, Update};

use crate::doc::COMMENTS;
use crate::guard::{BlockHead, GuardError, HeadKind, HeadParent, block_heads_v1};

/// Why an update from a comment-only connection was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentRefusal {
    /// The update is not a well-formed v1 update.
    Malformed(GuardError),
    /// It would change something outside the comments (the body, the title
    /// or another root), by inserting or deleting.
    Outside,
    /// It depends on items the room does not have, so what it changes
    /// cannot be known now.
    Unknown,
    /// It deletes more than [`MAX_LIVE_DELETIONS`] units of items the room
    /// holds: more than a thread's worth, and each costs a walk of its
    /// branch.
    TooManyDeletions,
}

impl fmt::Display for CommentRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(error) => write!(f, "malformed update: {error}"),
            Self::Outside => f.write_str("a comment link may change only the comments"),
            Self::Unknown => f.write_str("the update depends on changes the room does not have"),
            Self::TooManyDeletions => write!(
                f,
                "the update deletes more than {MAX_LIVE_DELETIONS} items at once"
            ),
        }
    }
}

impl std::error::Error for CommentRefusal {}

/// Where an item belongs: under which root type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Root {
    /// Under the root type of this name.
    Named(String),
    /// Nowhere that can be known now.
    Unknown,
}

/// Longest chain of origins or nested types followed for one item. Real
/// documents nest a few levels and updates chain origins through their own
/// items (resolved once each and remembered), so a chain this long is a
/// crafted one.
const MAX_STEPS: usize = 100_000;

/// Most units of the room's live items one update may delete. Finding an
/// item's branch walks the items to its left in that branch (yrs keeps no
/// public index from an id to its item), so this bounds the check's work;
/// deleting a thread with thousands of replies stays well within it.
pub const MAX_LIVE_DELETIONS: usize = 4_096;

/// Accepts `update` (v1) when applying it to `txn`'s document would change
/// nothing outside [`COMMENTS`]; see the module doc.
pub fn check_comment_update<T: ReadTxn>(txn: &T, update: &[u8]) -> Result<(), CommentRefusal> {
    let heads = block_heads_v1(update).map_err(CommentRefusal::Malformed)?;
    let decoded = Update::decode_v1(update).map_err(|_| CommentRefusal::Unknown)?;
    let state = txn.state_vector();
    let mut places = Places {
        txn,
        heads: &heads,
        by_client: HashMap::new(),
        known: HashMap::new(),
        state: &state,
    };
    for (index, head) in heads.iter().enumerate() {
        places
            .by_client
            .entry(head.id.client)
            .or_default()
            .push(index);
    }
    for (index, head) in heads.iter().enumerate() {
        let known = state.get(&head.id.client);
        let fresh = head.id.clock.saturating_add(head.len) > known;
        if !fresh {
            continue;
        }
        // A client's blocks follow each other, so a new one that starts
        // past what the room has, or a skip, leaves a gap yrs would keep
        // pending: the room cannot know now what it changes.
        let follows = head.id.clock <= known
            || index > 0 && {
                let before = &heads[index - 1];
                before.id.client == head.id.client
                    && before.id.clock.saturating_add(before.len) == head.id.clock
                    && !matches!(before.kind, HeadKind::Skip)
            };
        if !follows || matches!(head.kind, HeadKind::Skip) {
            return Err(CommentRefusal::Unknown);
        }
        if matches!(head.kind, HeadKind::Item { .. }) {
            require_comments(places.of_head(index))?;
        }
    }
    let deletions = decoded.delete_set();
    if deletions.is_empty() {
        return Ok(());
    }
    // Deleting what is deleted already changes nothing.
    let pending = deletions.diff(&txn.snapshot().delete_set);
    let mut looked_up = 0;
    for (client, ranges) in pending.iter() {
        for range in ranges.iter() {
            for clock in range.clone() {
                let id = ID::new(*client, clock);
                let root = if clock < state.get(client) {
                    looked_up += 1;
                    if looked_up > MAX_LIVE_DELETIONS {
                        return Err(CommentRefusal::TooManyDeletions);
                    }
                    places.of_room_item(id)
                } else {
                    // Only an item this update inserts (and was checked
                    // above) may be deleted past the room's state.
                    match places.head_holding(&id) {
                        Some(index) if matches!(heads[index].kind, HeadKind::Item { .. }) => {
                            places.of_head(index)
                        }
                        _ => Root::Unknown,
                    }
                };
                require_comments(root)?;
            }
        }
    }
    Ok(())
}

/// Passes items under the comments only.
fn require_comments(root: Root) -> Result<(), CommentRefusal> {
    match root {
        Root::Named(name) if name == COMMENTS => Ok(()),
        Root::Named(_) => Err(CommentRefusal::Outside),
        Root::Unknown => Err(CommentRefusal::Unknown),
    }
}

/// Finds where items belong, remembering what it found.
struct Places<'a, T> {
    /// The room's document.
    txn: &'a T,
    /// The update's blocks.
    heads: &'a [BlockHead],
    /// Indexes into `heads`, by client, in clock order (as updates hold them).
    by_client: HashMap<yrs::ClientID, Vec<usize>>,
    /// Roots already found for blocks of the update, by index.
    known: HashMap<usize, Root>,
    /// The room's state vector: ids below it are the room's items.
    state: &'a StateVector,
}

impl<T: ReadTxn> Places<'_, T> {
    /// The block of the update holding `id`.
    fn head_holding(&self, id: &ID) -> Option<usize> {
        let blocks = self.by_client.get(&id.client)?;
        // A client's blocks follow each other in clock order.
        let after = blocks.partition_point(|&i| self.heads[i].id.clock <= id.clock);
        let index = *blocks.get(after.checked_sub(1)?)?;
        let head = &self.heads[index];
        (id.clock - head.id.clock < head.len).then_some(index)
    }

    /// Where an item the room holds belongs.
    fn of_room_item(&self, mut id: ID) -> Root {
        for _ in 0..MAX_STEPS {
            let Some(offset) = StickyIndex::from_id(id, Assoc::After).get_offset(self.txn) else {
                return Root::Unknown;
            };
            match offset.branch.id() {
                BranchID::Root(name) => return Root::Named(name.to_string()),
                BranchID::Nested(holder) => id = holder,
            }
        }
        Root::Unknown
    }

    /// Where block `index` of the update belongs. The chain of blocks it
    /// names is walked without recursion and every block on it remembered.
    fn of_head(&mut self, index: usize) -> Root {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut next = index;
        let root = loop {
            if let Some(root) = self.known.get(&next) {
                break root.clone();
            }
            if chain.len() >= MAX_STEPS || !seen.insert(next) {
                break Root::Unknown;
            }
            chain.push(next);
            let HeadKind::Item {
                origin,
                right_origin,
                parent,
            } = &self.heads[next].kind
            else {
                break Root::Unknown;
            };
            let toward = match (parent, origin, right_origin) {
                (Some(HeadParent::Root(name)), _, _) => break Root::Named(name.clone()),
                (Some(HeadParent::Nested(id)), _, _)
                | (None, Some(id), _)
                | (None, None, Some(id)) => *id,
                (None, None, None) => break Root::Unknown,
            };
            if toward.clock < self.state.get(&toward.client) {
                break self.of_room_item(toward);
            }
            match self.head_holding(&toward) {
                Some(holder) => next = holder,
                None => break Root::Unknown,
            }
        };
        for step in chain {
            self.known.insert(step, root.clone());
        }
        root
    }
}

#[cfg(test)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::{
        Any, Array, Doc, GetString, Map, MapRef, ReadTxn, Text, TextRef, Transact, TransactionMut,
        Update, WriteTxn,
    };

    use super::*;
    use crate::comments::{self, COMMENTS};
    use crate::doc::{CONTENT, TITLE, new_doc};

    fn stamp(who: &str) -> comments::Stamp {
        comments::Stamp {
            author: format!("{who}-id"),
            name: who.to_owned(),
            color: "#2f8636".to_owned(),
            time: 1_765_000_000_000,
        }
    }

    fn comment(id: &str, text: &str) -> comments::Comment {
        comments::Comment {
            id: id.to_owned(),
            stamp: stamp("Rev"),
            text: text.to_owned(),
        }
    }

    fn sync(from: &Doc, to: &Doc) {
        let state = to.transact().state_vector();
        let update = from.transact().encode_state_as_update_v1(&state);
        apply(to, &update);
    }

    fn apply(doc: &Doc, update: &[u8]) {
        let update = Update::decode_v1(update).expect("decode");
        doc.transact_mut().apply_update(update).expect("apply");
    }

    fn parts(doc: &Doc) -> (TextRef, TextRef, MapRef) {
        (
            doc.get_or_insert_text(CONTENT),
            doc.get_or_insert_text(TITLE),
            doc.get_or_insert_map(COMMENTS),
        )
    }

    /// A room with a body that was edited (deletions included), a title and
    /// one thread; and a reviewer's copy of it.
    fn room_and_reviewer() -> (Doc, Doc) {
        let room = new_doc();
        let (body, title, notes) = parts(&room);
        {
            let mut txn = room.transact_mut();
            body.insert(&mut txn, 0, "Hello cruel world. Second sentence.");
            title.insert(&mut txn, 0, "Draft");
        }
        body.remove_range(&mut room.transact_mut(), 6, 6);
        {
            let mut txn = room.transact_mut();
            comments::open_thread(&mut txn, &notes, &body, "t1", (0, 5), &comment("c1", "Hi"))
                .expect("open");
        }
        let reviewer = new_doc();
        sync(&room, &reviewer);
        (room, reviewer)
    }

    /// What `change` does to `doc`, as the update a client sends: the diff
    /// from the state before, with the doc's whole delete set (as a sync
    /// step 2 carries it).
    fn change(
        doc: &Doc,
        change: impl FnOnce(&mut TransactionMut, &(TextRef, TextRef, MapRef)),
    ) -> Vec<u8> {
        let before = doc.transact().state_vector();
        let refs = parts(doc);
        change(&mut doc.transact_mut(), &refs);
        doc.transact().encode_state_as_update_v1(&before)
    }

    /// A change a test makes to a copy of the room.
    type Step = Box<dyn Fn(&mut TransactionMut, &(TextRef, TextRef, MapRef))>;

    fn check(room: &Doc, update: &[u8]) -> Result<(), CommentRefusal> {
        check_comment_update(&room.transact(), update)
    }

    fn state(doc: &Doc) -> (String, String, Vec<comments::Thread>) {
        let (body, title, notes) = parts(doc);
        let txn = doc.transact();
        (
            body.get_string(&txn),
            title.get_string(&txn),
            comments::threads(&txn, &notes),
        )
    }

    #[test]
    fn comment_changes_pass_and_apply() {
        let (room, reviewer) = room_and_reviewer();
        let steps: Vec<Step> = vec![
            Box::new(|txn, (body, _, notes)| {
                comments::open_thread(txn, notes, body, "t2", (6, 11), &comment("c1", "Why?"))
                    .expect("open");
            }),
            Box::new(|txn, (_, _, notes)| {
                comments::reply(txn, notes, "t1", &comment("c2", "Agreed")).expect("reply");
            }),
            Box::new(|txn, (_, _, notes)| {
                comments::set_resolved(txn, notes, "t1", true, &stamp("Rev")).expect("resolve");
            }),
            Box::new(|txn, (_, _, notes)| {
                comments::set_resolved(txn, notes, "t1", false, &stamp("Rev")).expect("reopen");
            }),
            Box::new(|txn, (_, _, notes)| {
                comments::delete_comment(txn, notes, "t1", "c2").expect("delete reply");
            }),
            Box::new(|txn, (_, _, notes)| {
                comments::delete_comment(txn, notes, "t2", "c1").expect("delete thread");
            }),
        ];
        for (n, step) in steps.iter().enumerate() {
            let update = change(&reviewer, step);
            assert_eq!(check(&room, &update), Ok(()), "step {n}");
            apply(&room, &update);
            assert_eq!(state(&room), state(&reviewer), "step {n}");
        }
        let (_, _, threads) = state(&room);
        assert_eq!(threads.len(), 1);
        assert_eq!(threads[0].comments.len(), 1);
        assert!(!threads[0].is_resolved());
    }

    #[test]
    fn a_whole_state_from_a_reviewer_passes() {
        // A reconnecting reviewer's sync step 2 repeats everything it has,
        // the body's items and deletions included: none of it is new.
        let (room, reviewer) = room_and_reviewer();
        let (body, _, notes) = parts(&reviewer);
        comments::reply(
            &mut reviewer.transact_mut(),
            &notes,
            "t1",
            &comment("c2", "Later"),
        )
        .expect("reply");
        let everything = reviewer
            .transact()
            .encode_state_as_update_v1(&Default::default());
        assert_eq!(check(&room, &everything), Ok(()));
        apply(&room, &everything);
        assert_eq!(state(&room), state(&reviewer));
        assert_eq!(
            body.get_string(&reviewer.transact()),
            "Hello world. Second sentence."
        );
    }

    #[test]
    fn every_kind_of_content_change_is_refused() {
        let steps: Vec<(&str, Step)> = vec![
            (
                "insert at start",
                Box::new(|txn, (body, _, _)| body.insert(txn, 0, "X")),
            ),
            (
                "insert inside",
                Box::new(|txn, (body, _, _)| body.insert(txn, 7, "X")),
            ),
            (
                "insert at end",
                Box::new(|txn, (body, _, _)| {
                    let end = body.len(txn);
                    body.insert(txn, end, "X");
                }),
            ),
            (
                "delete one",
                Box::new(|txn, (body, _, _)| body.remove_range(txn, 3, 1)),
            ),
            (
                "delete all",
                Box::new(|txn, (body, _, _)| {
                    let end = body.len(txn);
                    body.remove_range(txn, 0, end);
                }),
            ),
            (
                "format",
                Box::new(|txn, (body, _, _)| {
                    let bold = yrs::types::Attrs::from([("bold".into(), Any::Bool(true))]);
                    body.format(txn, 0, 5, bold);
                }),
            ),
            (
                "insert then delete",
                Box::new(|txn, (body, _, _)| {
                    body.insert(txn, 2, "XY");
                    body.remove_range(txn, 2, 2);
                }),
            ),
            (
                "title insert",
                Box::new(|txn, (_, title, _)| title.insert(txn, 0, "New ")),
            ),
            (
                "title delete",
                Box::new(|txn, (_, title, _)| title.remove_range(txn, 0, 1)),
            ),
            (
                "another root",
                Box::new(|txn, _| {
                    let other = txn.get_or_insert_text("other");
                    other.insert(txn, 0, "x");
                }),
            ),
            (
                "a map in another root",
                Box::new(|txn, _| {
                    let settings = txn.get_or_insert_map("settings");
                    settings.insert(txn, "k", "v");
                }),
            ),
        ];
        for (name, step) in steps {
            let (room, reviewer) = room_and_reviewer();
            let before = state(&room);
            let update = change(&reviewer, &step);
            assert_eq!(
                check(&room, &update),
                Err(CommentRefusal::Outside),
                "{name}"
            );
            assert_eq!(state(&room), before, "{name}");
        }
    }

    #[test]
    fn an_update_mixing_comments_and_content_is_refused() {
        let (room, reviewer) = room_and_reviewer();
        let update = change(&reviewer, |txn, (body, _, notes)| {
            comments::reply(txn, notes, "t1", &comment("c2", "Fixed it")).expect("reply");
            body.insert(txn, 0, "X");
        });
        assert_eq!(check(&room, &update), Err(CommentRefusal::Outside));
        let (room, reviewer) = room_and_reviewer();
        let update = change(&reviewer, |txn, (body, _, notes)| {
            body.remove_range(txn, 0, 1);
            comments::reply(txn, notes, "t1", &comment("c2", "Fixed it")).expect("reply");
        });
        assert_eq!(check(&room, &update), Err(CommentRefusal::Outside));
        // The same two as separate updates: the comment alone passes.
        let (room, reviewer) = room_and_reviewer();
        let reply = change(&reviewer, |txn, (_, _, notes)| {
            comments::reply(txn, notes, "t1", &comment("c2", "Fixed it")).expect("reply");
        });
        let edit = change(&reviewer, |txn, (body, _, _)| body.insert(txn, 0, "X"));
        assert_eq!(check(&room, &reply), Ok(()));
        apply(&room, &reply);
        assert_eq!(check(&room, &edit), Err(CommentRefusal::Outside));
    }

    #[test]
    fn anything_nested_under_the_comments_passes() {
        // The check is about where a change lands, not its shape: a value
        // the reader would skip is still the comments' own.
        let (room, reviewer) = room_and_reviewer();
        let update = change(&reviewer, |txn, (_, _, notes)| {
            let thread = notes.get(txn, "t1");
            let Some(yrs::Out::YMap(thread)) = thread else {
                panic!("thread")
            };
            let Some(yrs::Out::YArray(list)) = thread.get(txn, "comments") else {
                panic!("list")
            };
            list.push_back(txn, Any::from("a raw entry"));
        });
        assert_eq!(check(&room, &update), Ok(()));
    }

    #[test]
    fn an_update_the_room_cannot_place_is_refused() {
        let (room, reviewer) = room_and_reviewer();
        // The first reply reaches the reviewer's copy but not the room; the
        // second, sent alone, hangs on the first.
        let _first = change(&reviewer, |txn, (_, _, notes)| {
            comments::reply(txn, notes, "t1", &comment("c2", "One")).expect("reply");
        });
        let second = change(&reviewer, |txn, (_, _, notes)| {
            comments::reply(txn, notes, "t1", &comment("c3", "Two")).expect("reply");
        });
        assert_eq!(check(&room, &second), Err(CommentRefusal::Unknown));
        // A comment written after a refused edit hangs on that edit's clocks.
        let (room, reviewer) = room_and_reviewer();
        let _refused = change(&reviewer, |txn, (body, _, _)| body.insert(txn, 0, "X"));
        let after = change(&reviewer, |txn, (_, _, notes)| {
            comments::reply(txn, notes, "t1", &comment("c2", "Later")).expect("reply");
        });
        assert_eq!(check(&room, &after), Err(CommentRefusal::Unknown));
        // Deleting more live items than a thread holds at once.
        let (room, reviewer) = room_and_reviewer();
        let many = change(&reviewer, |txn, (_, _, notes)| {
            for i in 0..MAX_LIVE_DELETIONS {
                comments::reply(txn, notes, "t1", &comment(&format!("m{i}"), "x")).expect("reply");
            }
        });
        assert_eq!(check(&room, &many), Ok(()));
        apply(&room, &many);
        let gone = change(&reviewer, |txn, (_, _, notes)| {
            notes.remove(txn, "t1");
        });
        assert_eq!(check(&room, &gone), Err(CommentRefusal::TooManyDeletions));
        assert!(matches!(
            check(&room, &[0xff, 0xff, 0xff]),
            Err(CommentRefusal::Malformed(_))
        ));
    }
}
