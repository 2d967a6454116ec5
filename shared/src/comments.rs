//! Comment threads anchored to the body, kept in the document itself.
//!
//! Threads live in the room's yrs document beside the body, in the root
//! `Y.Map` [`COMMENTS`], so offline edits, history, restore, export and the
//! cluster carry them with no path of their own, and a Yjs application that
//! binds only `content` never sees them. The layout (`docs/PROTOCOL.md`,
//! "Comments", says the same for a Yjs application):
//!
//! ```text
//! comments: Y.Map
//!   {thread id} → Y.Map
//!     start      Uint8Array  Y.encodeRelativePosition of the first anchored
//!                            character (assoc 0: it follows that character)
//!     end        Uint8Array  Y.encodeRelativePosition just after the last
//!                            anchored character (assoc -1: it follows that
//!                            character)
//!     quote      string      the anchored text when the thread was opened
//!     comments   Y.Array of { id, author, name, color, time, text }
//!                            the opening comment, then the replies
//!     resolution { resolved, author, name, time }   the last resolve or
//!                            reopen; absent while never resolved
//! ```
//!
//! Anchors are relative positions (yrs [`StickyIndex`]): both ends stick to
//! the characters of the range, so text typed inside the range grows it,
//! text typed at either edge stays outside, and when every anchored
//! character is deleted the thread has no range left ([`Anchor::Deleted`])
//! and shows its quote. Comments are plain text, shown as text (never as
//! HTML). Who wrote a comment is what the writer says (as with presence
//! names): an author id, a name and a colour.
//!
//! Everything read from the map is outside input: an entry that does not
//! have this shape is skipped, never trusted. The writers here are what the
//! page uses; [`check_comment_update`] is what the server runs on each update
//! from a connection that may only comment.

mod filter;

use std::collections::HashMap;
use std::fmt;

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Assoc, GetString, IndexedSequence, Map, MapPrelim, MapRef,
    Number, Out, ReadTxn, StickyIndex, Text, TextRef, TransactionMut,
};

pub use crate::doc::COMMENTS;
pub use filter::{CommentRefusal, MAX_LIVE_DELETIONS, check_comment_update};

/// Longest comment, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Longest quote kept with a thread, in characters (a longer selection is
/// cut, with an ellipsis).
pub const MAX_QUOTE_CHARS: usize = 500;
/// Longest thread or comment id.
pub const MAX_ID_CHARS: usize = 32;

/// Why a change to the comments was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentError {
    /// The range is empty or past the end of the body.
    BadRange,
    /// The comment is empty (after trimming) or longer than [`MAX_TEXT_CHARS`].
    BadText,
    /// A thread or comment id is not 1–[`MAX_ID_CHARS`] of `A–Z a–z 0–9 - _`.
    BadId,
    /// No thread has this id (it was deleted meanwhile, say).
    NoThread,
    /// The thread has no comment with this id.
    NoComment,
    /// A thread with this id exists already.
    Exists,
}

impl fmt::Display for CommentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadRange => f.write_str("select some text to comment on"),
            Self::BadText => write!(f, "a comment is 1 to {MAX_TEXT_CHARS} characters"),
            Self::BadId => write!(f, "an id is 1 to {MAX_ID_CHARS} of A-Z a-z 0-9 - _"),
            Self::NoThread => f.write_str("no such thread"),
            Self::NoComment => f.write_str("no such comment"),
            Self::Exists => f.write_str("a thread with this id exists"),
        }
    }
}

impl std::error::Error for CommentError {}

/// Who did something, and when: the same identity as presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The author id (`crate::authors::AuthorId`'s text), to tell one's own
    /// comments from others'.
    pub author: String,
    /// The name shown, as in presence.
    pub name: String,
    /// The colour shown, as in presence (`#rrggbb`).
    pub color: String,
    /// Milliseconds since the Unix epoch.
    pub time: i64,
}

/// One comment of a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Its id, unique in its thread (to delete it).
    pub id: String,
    /// Who wrote it, and when.
    pub stamp: Stamp,
    /// What it says, plain text.
    pub text: String,
}

/// The last resolve or reopen of a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Resolved (`true`) or reopened (`false`).
    pub resolved: bool,
    /// Who did it, and when (the colour is not kept: `color` is empty).
    pub stamp: Stamp,
}

/// A thread as read from the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    /// Its key in the [`COMMENTS`] map.
    pub id: String,
    /// The position of the first anchored character.
    pub start: StickyIndex,
    /// The position just after the last anchored character.
    pub end: StickyIndex,
    /// The anchored text when the thread was opened, shown once it is gone.
    pub quote: String,
    /// The opening comment, then the replies, in order.
    pub comments: Vec<Comment>,
    /// The last resolve or reopen, if any.
    pub resolution: Option<Resolution>,
}

/// Where a thread's anchor is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The anchored text spans `start..end` of the body (UTF-16 code units).
    Range {
        /// First anchored code unit.
        start: u32,
        /// Just past the last anchored code unit.
        end: u32,
    },
    /// Every anchored character was deleted.
    Deleted,
}

impl Thread {
    /// Whether the thread's last resolution resolved it.
    pub fn is_resolved(&self) -> bool {
        self.resolution.as_ref().is_some_and(|r| r.resolved)
    }

    /// Where the anchor is in `txn`'s state of the body.
    pub fn anchor<T: ReadTxn>(&self, txn: &T) -> Anchor {
        let start = self.start.get_offset(txn).map(|o| o.index);
        let end = self.end.get_offset(txn).map(|o| o.index);
        match (start, end) {
            (Some(start), Some(end)) if start < end => Anchor::Range { start, end },
            _ => Anchor::Deleted,
        }
    }
}

/// Whether `id` is 1–[`MAX_ID_CHARS`] of `A–Z a–z 0–9 - _`.
pub fn valid_id(id: &str) -> bool {
    (1..=MAX_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Every well-formed thread, in id order.
pub fn threads<T: ReadTxn>(txn: &T, comments: &MapRef) -> Vec<Thread> {
    let mut threads: Vec<Thread> = comments
        .iter(txn)
        .filter_map(|(id, value)| match value {
            Out::YMap(thread) => read_thread(txn, id, &thread),
            _ => None,
        })
        .collect();
    threads.sort_by(|a, b| a.id.cmp(&b.id));
    threads
}

/// The thread `id`, if it is there and well-formed.
pub fn thread<T: ReadTxn>(txn: &T, comments: &MapRef, id: &str) -> Option<Thread> {
    match comments.get(txn, id)? {
        Out::YMap(thread) => read_thread(txn, id, &thread),
        _ => None,
    }
}

fn read_thread<T: ReadTxn>(txn: &T, id: &str, thread: &MapRef) -> Option<Thread> {
    if !valid_id(id) {
        return None;
    }
    let position = |key: &str| match thread.get(txn, key)? {
        Out::Any(Any::Buffer(bytes)) => StickyIndex::decode_v1(&bytes).ok(),
        _ => None,
    };
    let start = position("start")?;
    let end = position("end")?;
    let quote = match thread.get(txn, "quote") {
        Some(Out::Any(Any::String(quote))) => cut(&quote, MAX_QUOTE_CHARS),
        _ => String::new(),
    };
    let comments = match thread.get(txn, "comments")? {
        Out::YArray(list) => list
            .iter(txn)
            .filter_map(|entry| match entry {
                Out::Any(any) => read_comment(&any),
                _ => None,
            })
            .collect(),
        _ => return None,
    };
    let resolution = match thread.get(txn, "resolution") {
        Some(Out::Any(any)) => read_resolution(&any),
        _ => None,
    };
    Some(Thread {
        id: id.to_owned(),
        start,
        end,
        quote,
        comments,
        resolution,
    })
}

fn field<'a>(any: &'a Any, key: &str) -> Option<&'a Any> {
    match any {
        Any::Map(map) => map.get(key),
        _ => None,
    }
}

fn text_field(any: &Any, key: &str, max: usize) -> Option<String> {
    match field(any, key)? {
        Any::String(text) if text.chars().count() <= max => Some(text.to_string()),
        _ => None,
    }
}

fn time_field(any: &Any) -> Option<i64> {
    match field(any, "time")? {
        // Yjs writes whole numbers below 2^31 as integers, others as floats.
        Any::Number(Number::Int(time)) => Some(*time),
        Any::Number(Number::Float(time)) if time.is_finite() => Some(*time as i64),
        _ => None,
    }
}

/// A time in milliseconds as Yjs writes a JavaScript number of that size
/// (a float), so `Date` reads it as is.
fn millis(time: i64) -> Any {
    Any::Number(Number::Float(time as f64))
}

fn read_stamp(any: &Any) -> Option<Stamp> {
    Some(Stamp {
        author: text_field(any, "author", 64)?,
        name: text_field(any, "name", 200)?,
        color: text_field(any, "color", 32).unwrap_or_default(),
        time: time_field(any)?,
    })
}

fn read_comment(any: &Any) -> Option<Comment> {
    let id = text_field(any, "id", MAX_ID_CHARS).filter(|id| valid_id(id))?;
    let text = text_field(any, "text", MAX_TEXT_CHARS)?;
    Some(Comment {
        id,
        stamp: read_stamp(any)?,
        text,
    })
}

fn read_resolution(any: &Any) -> Option<Resolution> {
    let resolved = match field(any, "resolved")? {
        Any::Bool(resolved) => *resolved,
        _ => return None,
    };
    Some(Resolution {
        resolved,
        stamp: read_stamp(any)?,
    })
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn comment_any(comment: &Comment) -> Any {
    Any::from(HashMap::from([
        ("id".to_owned(), Any::from(comment.id.as_str())),
        (
            "author".to_owned(),
            Any::from(comment.stamp.author.as_str()),
        ),
        ("name".to_owned(), Any::from(comment.stamp.name.as_str())),
        ("color".to_owned(), Any::from(comment.stamp.color.as_str())),
        ("time".to_owned(), millis(comment.stamp.time)),
        ("text".to_owned(), Any::from(comment.text.as_str())),
    ]))
}

fn check_comment(comment: &Comment) -> Result<(), CommentError> {
    if !valid_id(&comment.id) {
        return Err(CommentError::BadId);
    }
    let chars = comment.text.chars().count();
    if comment.text.trim().is_empty() || chars > MAX_TEXT_CHARS {
        return Err(CommentError::BadText);
    }
    Ok(())
}

/// Opens thread `id` on `start..end` of `body` (UTF-16 code units) with
/// its first comment.
pub fn open_thread(
    txn: &mut TransactionMut,
    comments: &MapRef,
    body: &TextRef,
    id: &str,
    (start, end): (u32, u32),
    first: &Comment,
) -> Result<(), CommentError> {
    if !valid_id(id) {
        return Err(CommentError::BadId);
    }
    check_comment(first)?;
    if start >= end || end > body.len(txn) {
        return Err(CommentError::BadRange);
    }
    if comments.get(txn, id).is_some() {
        return Err(CommentError::Exists);
    }
    let anchor_start = body
        .sticky_index(txn, start, Assoc::After)
        .ok_or(CommentError::BadRange)?;
    let anchor_end = body
        .sticky_index(txn, end, Assoc::Before)
        .ok_or(CommentError::BadRange)?;
    let quote = body
        .get_string(txn)
        .encode_utf16()
        .skip(start as usize)
        .take((end - start) as usize)
        .collect::<Vec<u16>>();
    let quote = cut(&String::from_utf16_lossy(&quote), MAX_QUOTE_CHARS);
    let thread = comments.insert(txn, id, MapPrelim::default());
    thread.insert(txn, "start", Any::from(anchor_start.encode_v1()));
    thread.insert(txn, "end", Any::from(anchor_end.encode_v1()));
    thread.insert(txn, "quote", Any::from(quote));
    let list = thread.insert(txn, "comments", ArrayPrelim::default());
    list.push_back(txn, comment_any(first));
    Ok(())
}

fn thread_map<T: ReadTxn>(txn: &T, comments: &MapRef, id: &str) -> Result<MapRef, CommentError> {
    match comments.get(txn, id) {
        Some(Out::YMap(thread)) => Ok(thread),
        _ => Err(CommentError::NoThread),
    }
}

fn comment_list<T: ReadTxn>(txn: &T, thread: &MapRef) -> Result<ArrayRef, CommentError> {
    match thread.get(txn, "comments") {
        Some(Out::YArray(list)) => Ok(list),
        _ => Err(CommentError::NoThread),
    }
}

/// Adds `comment` at the end of thread `id`.
pub fn reply(
    txn: &mut TransactionMut,
    comments: &MapRef,
    id: &str,
    comment: &Comment,
) -> Result<(), CommentError> {
    check_comment(comment)?;
    let thread = thread_map(txn, comments, id)?;
    let list = comment_list(txn, &thread)?;
    list.push_back(txn, comment_any(comment));
    Ok(())
}

/// Resolves (`resolved`) or reopens thread `id`, saying who and when.
pub fn set_resolved(
    txn: &mut TransactionMut,
    comments: &MapRef,
    id: &str,
    resolved: bool,
    by: &Stamp,
) -> Result<(), CommentError> {
    let thread = thread_map(txn, comments, id)?;
    thread.insert(txn, "resolution", resolution_any(resolved, by));
    Ok(())
}

fn resolution_any(resolved: bool, by: &Stamp) -> Any {
    Any::from(HashMap::from([
        ("resolved".to_owned(), Any::Bool(resolved)),
        ("author".to_owned(), Any::from(by.author.as_str())),
        ("name".to_owned(), Any::from(by.name.as_str())),
        ("time".to_owned(), millis(by.time)),
    ]))
}

/// Deletes comment `comment` of thread `id`; the thread goes with its last
/// comment.
pub fn delete_comment(
    txn: &mut TransactionMut,
    comments: &MapRef,
    id: &str,
    comment: &str,
) -> Result<(), CommentError> {
    let thread = thread_map(txn, comments, id)?;
    let list = comment_list(txn, &thread)?;
    let entries: Vec<Out> = list.iter(txn).collect();
    let index = entries
        .iter()
        .position(|entry| match entry {
            Out::Any(any) => matches!(field(any, "id"), Some(Any::String(c)) if &**c == comment),
            _ => false,
        })
        .ok_or(CommentError::NoComment)?;
    if entries.len() == 1 {
        comments.remove(txn, id);
    } else {
        // The index came from this transaction's own reading of the list.
        list.remove(txn, index as u32);
    }
    Ok(())
}

/// A thread with where its anchor was in the state it was read from: what
/// a restore of that state writes back ([`restore_threads`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The thread as read.
    pub thread: Thread,
    /// Where its anchor was, in that state's body.
    pub anchor: Anchor,
}

/// Every well-formed thread of `comments`, placed in `txn`'s state.
pub fn placed<T: ReadTxn>(txn: &T, comments: &MapRef) -> Vec<Placed> {
    threads(txn, comments)
        .into_iter()
        .map(|thread| Placed {
            anchor: thread.anchor(txn),
            thread,
        })
        .collect()
}

/// Makes the threads of `comments` those of `wanted`, read from another
/// state of the document whose body is now `body`'s text (a restore splices
/// the text back first): threads not wanted are removed, wanted ones that
/// differ are written again, anchored at the offsets they had in that state
/// (an anchor that was deleted there keeps its old positions). Returns
/// whether anything changed.
pub fn restore_threads(
    txn: &mut TransactionMut,
    comments: &MapRef,
    body: &TextRef,
    wanted: &[Placed],
) -> bool {
    let live = placed(txn, comments);
    let mut changed = false;
    let keys: Vec<String> = comments.keys(txn).map(str::to_owned).collect();
    for key in keys {
        if !wanted.iter().any(|w| w.thread.id == key) {
            comments.remove(txn, &key);
            changed = true;
        }
    }
    let length = body.len(txn);
    for want in wanted {
        if live.iter().any(|l| l == want) {
            continue;
        }
        let thread = &want.thread;
        let anchors = match want.anchor {
            Anchor::Range { start, end } if end <= length => body
                .sticky_index(txn, start, Assoc::After)
                .zip(body.sticky_index(txn, end, Assoc::Before)),
            _ => None,
        };
        let (start, end) = anchors.unwrap_or_else(|| (thread.start.clone(), thread.end.clone()));
        let map = comments.insert(txn, thread.id.as_str(), MapPrelim::default());
        map.insert(txn, "start", Any::from(start.encode_v1()));
        map.insert(txn, "end", Any::from(end.encode_v1()));
        map.insert(txn, "quote", Any::from(thread.quote.as_str()));
        let list = map.insert(txn, "comments", ArrayPrelim::default());
        for comment in &thread.comments {
            list.push_back(txn, comment_any(comment));
        }
        if let Some(resolution) = &thread.resolution {
            map.insert(
                txn,
                "resolution",
                resolution_any(resolution.resolved, &resolution.stamp),
            );
        }
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

    use super::*;
    use crate::doc::{CONTENT, new_doc};

    pub(super) fn stamp(who: &str) -> Stamp {
        Stamp {
            author: format!("{who}-id"),
            name: who.to_owned(),
            color: "#2f8636".to_owned(),
            time: 1_765_000_000_000,
        }
    }

    pub(super) fn comment(id: &str, who: &str, text: &str) -> Comment {
        Comment {
            id: id.to_owned(),
            stamp: stamp(who),
            text: text.to_owned(),
        }
    }

    /// Brings `to` up to `from`'s state.
    pub(super) fn sync(from: &Doc, to: &Doc) {
        let state = to.transact().state_vector();
        let update = from.transact().encode_state_as_update_v1(&state);
        let update = Update::decode_v1(&update).expect("decode");
        to.transact_mut().apply_update(update).expect("apply");
    }

    fn body_of(doc: &Doc) -> String {
        doc.get_or_insert_text(CONTENT).get_string(&doc.transact())
    }

    /// The text a thread's anchor spans in `doc`, or `None` once deleted.
    fn anchored(doc: &Doc, id: &str) -> Option<String> {
        let comments = doc.get_or_insert_map(COMMENTS);
        let body = doc.get_or_insert_text(CONTENT);
        let txn = doc.transact();
        let thread = thread(&txn, &comments, id).expect("thread");
        match thread.anchor(&txn) {
            Anchor::Range { start, end } => {
                let body: Vec<u16> = body.get_string(&txn).encode_utf16().collect();
                Some(String::from_utf16_lossy(
                    &body[start as usize..end as usize],
                ))
            }
            Anchor::Deleted => None,
        }
    }

    fn open(doc: &Doc, id: &str, range: (u32, u32)) {
        let comments = doc.get_or_insert_map(COMMENTS);
        let body = doc.get_or_insert_text(CONTENT);
        let mut txn = doc.transact_mut();
        open_thread(
            &mut txn,
            &comments,
            &body,
            id,
            range,
            &comment("c1", "Ada", "Is this right?"),
        )
        .expect("open");
    }

    fn doc_with(text: &str) -> Doc {
        let doc = new_doc();
        doc.get_or_insert_text(CONTENT)
            .insert(&mut doc.transact_mut(), 0, text);
        doc
    }

    #[test]
    fn a_thread_round_trips_with_its_replies_and_resolution() {
        let doc = doc_with("Hello wörld, and more");
        open(&doc, "t1", (6, 11));
        let comments = doc.get_or_insert_map(COMMENTS);
        {
            let mut txn = doc.transact_mut();
            reply(&mut txn, &comments, "t1", &comment("c2", "Bo", "Yes.")).expect("reply");
            set_resolved(&mut txn, &comments, "t1", true, &stamp("Bo")).expect("resolve");
        }
        let txn = doc.transact();
        let all = threads(&txn, &comments);
        assert_eq!(all.len(), 1);
        let thread = &all[0];
        assert_eq!(thread.quote, "wörld");
        assert_eq!(thread.comments.len(), 2);
        assert_eq!(thread.comments[0].text, "Is this right?");
        assert_eq!(thread.comments[0].stamp, stamp("Ada"));
        assert_eq!(thread.comments[1].stamp.name, "Bo");
        assert!(thread.is_resolved());
        assert_eq!(
            thread.resolution.as_ref().map(|r| r.stamp.author.as_str()),
            Some("Bo-id")
        );
        drop(txn);
        set_resolved(
            &mut doc.transact_mut(),
            &comments,
            "t1",
            false,
            &stamp("Cy"),
        )
        .expect("reopen");
        let txn = doc.transact();
        let thread = &threads(&txn, &comments)[0];
        assert!(!thread.is_resolved());
        assert_eq!(
            thread.resolution.as_ref().map(|r| r.stamp.name.as_str()),
            Some("Cy")
        );
    }

    #[test]
    fn writers_refuse_bad_input() {
        let doc = doc_with("Hello");
        let comments = doc.get_or_insert_map(COMMENTS);
        let body = doc.get_or_insert_text(CONTENT);
        let mut txn = doc.transact_mut();
        let good = comment("c1", "Ada", "Note");
        let open = |txn: &mut TransactionMut, id: &str, range, c: &Comment| {
            open_thread(txn, &comments, &body, id, range, c)
        };
        assert_eq!(
            open(&mut txn, "t", (2, 2), &good),
            Err(CommentError::BadRange)
        );
        assert_eq!(
            open(&mut txn, "t", (2, 9), &good),
            Err(CommentError::BadRange)
        );
        assert_eq!(
            open(&mut txn, "t/1", (0, 2), &good),
            Err(CommentError::BadId)
        );
        let blank = comment("c1", "Ada", "  \n");
        assert_eq!(
            open(&mut txn, "t", (0, 2), &blank),
            Err(CommentError::BadText)
        );
        let long = comment("c1", "Ada", &"x".repeat(MAX_TEXT_CHARS + 1));
        assert_eq!(
            open(&mut txn, "t", (0, 2), &long),
            Err(CommentError::BadText)
        );
        assert_eq!(open(&mut txn, "t", (0, 2), &good), Ok(()));
        assert_eq!(
            open(&mut txn, "t", (0, 2), &good),
            Err(CommentError::Exists)
        );
        assert_eq!(
            reply(&mut txn, &comments, "nope", &good),
            Err(CommentError::NoThread)
        );
        assert_eq!(
            delete_comment(&mut txn, &comments, "t", "c9"),
            Err(CommentError::NoComment)
        );
    }

    #[test]
    fn deleting_comments_removes_them_and_the_thread_goes_with_its_last() {
        let doc = doc_with("Hello world");
        open(&doc, "t1", (0, 5));
        let comments = doc.get_or_insert_map(COMMENTS);
        reply(
            &mut doc.transact_mut(),
            &comments,
            "t1",
            &comment("c2", "Bo", "Hm"),
        )
        .expect("reply");
        delete_comment(&mut doc.transact_mut(), &comments, "t1", "c1").expect("delete");
        let only: Vec<String> = thread(&doc.transact(), &comments, "t1")
            .expect("thread")
            .comments
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(only, ["c2"]);
        delete_comment(&mut doc.transact_mut(), &comments, "t1", "c2").expect("delete");
        assert!(threads(&doc.transact(), &comments).is_empty());
    }

    #[test]
    fn malformed_entries_are_skipped() {
        let doc = doc_with("Hello world");
        open(&doc, "good", (0, 5));
        let comments = doc.get_or_insert_map(COMMENTS);
        {
            let mut txn = doc.transact_mut();
            comments.insert(&mut txn, "text", "not a thread");
            let bad = comments.insert(&mut txn, "nostart", MapPrelim::default());
            bad.insert(&mut txn, "end", Any::from(vec![1u8, 2, 3]));
            let junk = comments.insert(&mut txn, "junkpos", MapPrelim::default());
            junk.insert(&mut txn, "start", Any::from(vec![255u8; 3]));
            junk.insert(&mut txn, "end", Any::from(vec![255u8; 3]));
            junk.insert(&mut txn, "comments", ArrayPrelim::default());
        }
        let ids: Vec<String> = threads(&doc.transact(), &comments)
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, ["good"]);
    }

    #[test]
    fn anchors_follow_concurrent_edits_around_and_inside_the_range() {
        let origin = doc_with("Hello world, goodbye");
        open(&origin, "t", (6, 11)); // "world"
        let peers: Vec<Doc> = (0..4).map(|_| new_doc()).collect();
        for peer in &peers {
            sync(&origin, peer);
        }
        let text = |doc: &Doc| doc.get_or_insert_text(CONTENT);
        // Before the range, at its start edge, inside it, at its end edge,
        // after it; and deletions around and inside.
        text(&peers[0]).insert(&mut peers[0].transact_mut(), 6, "big ");
        text(&peers[1]).insert(&mut peers[1].transact_mut(), 8, "-");
        text(&peers[2]).insert(&mut peers[2].transact_mut(), 11, "s");
        text(&peers[3]).remove_range(&mut peers[3].transact_mut(), 0, 6);
        text(&peers[3]).remove_range(&mut peers[3].transact_mut(), 4, 1);
        for peer in &peers {
            sync(peer, &origin);
        }
        assert_eq!(body_of(&origin), "big wo-rls, goodbye");
        assert_eq!(anchored(&origin, "t").as_deref(), Some("wo-rl"));
        // Every peer that catches up sees the same range.
        for peer in &peers {
            sync(&origin, peer);
            assert_eq!(anchored(peer, "t").as_deref(), Some("wo-rl"));
        }
    }

    #[test]
    fn a_deleted_anchor_leaves_a_readable_thread() {
        let doc = doc_with("Keep this. Drop that.");
        open(&doc, "t", (11, 20));
        let other = new_doc();
        sync(&doc, &other);
        // Concurrently: one person deletes the sentence, another types in it.
        doc.get_or_insert_text(CONTENT)
            .remove_range(&mut doc.transact_mut(), 10, 11);
        other
            .get_or_insert_text(CONTENT)
            .insert(&mut other.transact_mut(), 16, "X");
        sync(&other, &doc);
        assert_eq!(anchored(&doc, "t").as_deref(), Some("X"));
        doc.get_or_insert_text(CONTENT)
            .remove_range(&mut doc.transact_mut(), 10, 1);
        assert_eq!(anchored(&doc, "t"), None);
        let comments = doc.get_or_insert_map(COMMENTS);
        let thread = thread(&doc.transact(), &comments, "t").expect("thread");
        assert_eq!(thread.quote, "Drop that");
        assert_eq!(thread.comments[0].text, "Is this right?");
    }

    #[test]
    fn a_yjs_style_state_vector_update_carries_threads() {
        // The whole state, as a joining peer receives it.
        let doc = doc_with("Hello world");
        open(&doc, "t", (0, 5));
        let update = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let fresh = new_doc();
        fresh
            .transact_mut()
            .apply_update(Update::decode_v1(&update).expect("decode"))
            .expect("apply");
        assert_eq!(anchored(&fresh, "t").as_deref(), Some("Hello"));
    }
}
