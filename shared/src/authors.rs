//! Who wrote what: the authorship of a room's text, as the server records it
//! and every client reads it.
//!
//! Every character of a yrs document was inserted by an item whose id is
//! (client id, clock). The server knows which connection sent each update,
//! and under which name, so it records **claims**: "client id `client`
//! writes for author `author` from clock `clock` on". The first connection
//! that writes new items with a client id claims it from the first of those
//! clocks; a later connection of another author that writes more items with
//! the same client id gets a claim of its own from where its items start,
//! so each keeps exactly the characters it sent (see `docs/PROTOCOL.md`,
//! "Authorship"). Text with no claim (written before authorship was
//! recorded) has no author, and is shown as such: never guessed.
//!
//! An [`Author`] is a person (a browser, recognised by a secret only it
//! holds), a stock Yjs application on `/yjs/`, or a restore of an old
//! version. [`Authorship`] is a room's whole table, and the shape of the
//! changes the server sends as it grows (the `authors` frame).
//!
//! [`item_spans`] reads a text's items in document order with their ids
//! (UTF-16 lengths, as the document counts), and [`runs`] turns them into
//! runs of one author each, over the text's UTF-16 offsets: what the page
//! tints and what `GET /api/rooms/{room}/authors` exports.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use yrs::types::text::{ChangeKind, YChange};
use yrs::{ReadTxn, Snapshot, Text, TextRef, TransactionMut};

/// Longest author id, in characters.
pub const MAX_AUTHOR_ID_CHARS: usize = 40;

/// An author's public id: 1–[`MAX_AUTHOR_ID_CHARS`] of `A–Z a–z 0–9 - _`.
/// A person's is a digest of the secret their browser presents, so it
/// cannot be presented by anyone else; see [`AuthorKind`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AuthorId(String);

/// Why a string is not an [`AuthorId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidAuthorId;

impl fmt::Display for InvalidAuthorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an author id is 1 to {MAX_AUTHOR_ID_CHARS} of A-Z a-z 0-9 - _"
        )
    }
}

impl std::error::Error for InvalidAuthorId {}

/// Whether `text` is 1 to `max` characters of `A–Z a–z 0–9 - _`.
fn is_token(text: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl AuthorId {
    /// `id` if it follows the rule.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidAuthorId> {
        let id = id.into();
        if is_token(&id, 1, MAX_AUTHOR_ID_CHARS) {
            Ok(Self(id))
        } else {
            Err(InvalidAuthorId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AuthorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AuthorId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::new(text).map_err(serde::de::Error::custom)
    }
}

/// Shortest and longest author secret a `hello` may carry, in characters.
pub const AUTHOR_SECRET_CHARS: (usize, usize) = (16, 64);

/// Whether `secret` may be a browser's author secret (the `hello`'s
/// `author`): 16–64 of `A–Z a–z 0–9 - _`.
pub fn valid_secret(secret: &str) -> bool {
    is_token(secret, AUTHOR_SECRET_CHARS.0, AUTHOR_SECRET_CHARS.1)
}

/// What kind of writer an author is, which decides how it is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    /// Someone in Tandem's editor: one browser, recognised by the secret it
    /// presents in its `hello` (or one connection, for a client that
    /// presents none). Named by their latest display name.
    Person,
    /// A stock Yjs application on `/yjs/`: named by the name in its
    /// awareness, if it gave one, and always shown as a Yjs client.
    Yjs,
    /// The server itself, restoring an old version: the text it put back.
    Restore,
}

/// The version a restore brought back, to name the text it wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoredVersion {
    /// The version's id.
    pub id: u64,
    /// When it was taken, in Unix milliseconds.
    pub at: i64,
    /// The name a person gave it, if any.
    pub label: Option<String>,
}

/// One author of a room's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Its id, what claims point at.
    pub id: AuthorId,
    /// A person, a Yjs client or a restore.
    pub kind: AuthorKind,
    /// A person's latest display name; a Yjs client's awareness name (empty
    /// if it gave none); empty for a restore.
    pub name: String,
    /// Its colour in this room, `#rrggbb` (a person's latest).
    pub color: String,
    /// For a restore: the version it brought back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<RestoredVersion>,
}

/// What text with no author is called.
pub const UNKNOWN_AUTHOR: &str = "Author not recorded";

impl Author {
    /// How the page and the exports name this author; `when` writes a
    /// version's time (the page in the reader's time zone).
    pub fn label(&self, when: impl Fn(i64) -> String) -> String {
        match self.kind {
            AuthorKind::Person if self.name.trim().is_empty() => "Anonymous".to_owned(),
            AuthorKind::Person => self.name.clone(),
            AuthorKind::Yjs if self.name.trim().is_empty() => "Yjs client".to_owned(),
            AuthorKind::Yjs => format!("{} (Yjs client)", self.name),
            AuthorKind::Restore => match &self.restored {
                Some(RestoredVersion {
                    label: Some(label), ..
                }) => format!("Restored version of “{label}”"),
                Some(version) => format!("Restored version of {}", when(version.at)),
                None => "Restored version".to_owned(),
            },
        }
    }
}

/// "Client id `client` writes for `author` from clock `clock` on" (until the
/// next claim of the same client id, if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The yrs client id.
    pub client: u64,
    /// The first clock (UTF-16 units of its items) this claim covers.
    pub clock: u32,
    /// Who wrote them.
    pub author: AuthorId,
}

/// A room's authorship: its authors and their claims. The server's
/// `welcome` carries the whole table; an `authors` frame carries a change
/// (authors new or renamed, claims new), which [`Authorship::merge`] adds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorship {
    /// Every author, in order of first appearance; a change lists those new
    /// or changed, in full.
    pub authors: Vec<Author>,
    /// Every claim, by client id then clock; a change lists the new ones.
    pub claims: Vec<Claim>,
}

impl Authorship {
    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.authors.is_empty() && self.claims.is_empty()
    }

    /// The author with `id`.
    pub fn author(&self, id: &AuthorId) -> Option<&Author> {
        self.authors.iter().find(|a| &a.id == id)
    }

    /// Adds `change`: its authors replace those with the same id (or join the
    /// list), its claims join the list unless one for the same client id and
    /// clock is there already (the first claim stands). Returns whether
    /// anything changed.
    pub fn merge(&mut self, change: Authorship) -> bool {
        let mut changed = false;
        for author in change.authors {
            match self.authors.iter_mut().find(|a| a.id == author.id) {
                Some(known) if *known == author => {}
                Some(known) => {
                    *known = author;
                    changed = true;
                }
                None => {
                    self.authors.push(author);
                    changed = true;
                }
            }
        }
        for claim in change.claims {
            let at = self
                .claims
                .binary_search_by(|c| (c.client, c.clock).cmp(&(claim.client, claim.clock)));
            if let Err(at) = at {
                self.claims.insert(at, claim);
                changed = true;
            }
        }
        changed
    }

    /// An index for looking up who wrote an item.
    pub fn lookup(&self) -> Lookup {
        let position: HashMap<&AuthorId, usize> = self
            .authors
            .iter()
            .enumerate()
            .map(|(i, a)| (&a.id, i))
            .collect();
        let mut clients: HashMap<u64, Vec<(u32, Option<usize>)>> = HashMap::new();
        for claim in &self.claims {
            clients
                .entry(claim.client)
                .or_default()
                .push((claim.clock, position.get(&claim.author).copied()));
        }
        for claims in clients.values_mut() {
            claims.sort_by_key(|(clock, _)| *clock);
        }
        Lookup { clients }
    }
}

/// Who wrote each clock of each client id, by position in
/// [`Authorship::authors`]: built once per table ([`Authorship::lookup`]).
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// Per client id, its claims by clock: (first clock, author position;
    /// `None` for a claim naming an author the table does not hold).
    clients: HashMap<u64, Vec<(u32, Option<usize>)>>,
}

impl Lookup {
    /// The author (position in the table) of `client`'s item at `clock`,
    /// and the clock where that answer next changes (`u32::MAX`: never).
    pub fn at(&self, client: u64, clock: u32) -> (Option<usize>, u32) {
        let Some(claims) = self.clients.get(&client) else {
            return (None, u32::MAX);
        };
        // The last claim starting at or before `clock`.
        let after = claims.partition_point(|(start, _)| *start <= clock);
        let next = claims.get(after).map_or(u32::MAX, |(start, _)| *start);
        match after.checked_sub(1) {
            Some(i) => (claims[i].1, next),
            None => (None, next),
        }
    }
}

/// One item of a text, in document order: `len` UTF-16 units written by
/// `client` from `clock` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemSpan {
    /// The item's client id.
    pub client: u64,
    /// Its first clock.
    pub clock: u32,
    /// Its visible length in UTF-16 units (also its clock length).
    pub len: u32,
}

/// The visible items of `text`, in document order, with their ids.
///
/// yrs has no public iterator over a text's items; its snapshot diff
/// (`diff_range`) marks every item seen in `hi` and not in `lo` as added,
/// with its id, one chunk per item. With `hi` the current state and `lo`
/// empty, that is every visible item. It needs a write transaction, which
/// changes nothing here (the current state splits no item) and emits no
/// update.
pub fn item_spans(txn: &mut TransactionMut, text: &TextRef) -> Vec<ItemSpan> {
    let now = txn.snapshot();
    let empty = Snapshot::default();
    let chunks = text.diff_range(txn, Some(&now), Some(&empty), YChange::identity);
    chunks
        .into_iter()
        .filter_map(|chunk| {
            let change = chunk.ychange?;
            if change.kind != ChangeKind::Added {
                return None;
            }
            let len = match &chunk.insert {
                yrs::Out::Any(yrs::Any::String(s)) => s.encode_utf16().count() as u32,
                // An embed takes one position.
                _ => 1,
            };
            Some(ItemSpan {
                client: change.id.client.get(),
                clock: change.id.clock,
                len,
            })
        })
        .collect()
}

/// One author's stretch of a text: UTF-16 units `from..to`, written by
/// `author` (a position in [`Authorship::authors`]), `None` when no claim
/// covers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// First unit.
    pub from: u32,
    /// One past the last unit.
    pub to: u32,
    /// The author's position in the table, if recorded.
    pub author: Option<usize>,
}

/// The runs of one author each over the text `spans` describe, in order,
/// adjacent runs of the same author merged.
pub fn runs(spans: &[ItemSpan], lookup: &Lookup) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut at = 0u32;
    for span in spans {
        let mut clock = span.clock;
        let end = span.clock.saturating_add(span.len);
        while clock < end {
            let (author, next) = lookup.at(span.client, clock);
            let stop = next.min(end).max(clock + 1);
            let len = stop - clock;
            match out.last_mut() {
                Some(last) if last.author == author && last.to == at => last.to += len,
                _ => out.push(Run {
                    from: at,
                    to: at + len,
                    author,
                }),
            }
            at += len;
            clock = stop;
        }
    }
    out
}

/// One step of a text event's delta, in UTF-16 units: what a transaction
/// did to the text, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Units left as they were.
    Retain(u32),
    /// Units inserted here.
    Insert(u32),
    /// Units removed here.
    Delete(u32),
}

/// The steps of a yrs text delta.
pub fn steps(delta: &[yrs::types::Delta]) -> Vec<Step> {
    use yrs::types::Delta;
    delta
        .iter()
        .map(|op| match op {
            Delta::Retain(len, _) => Step::Retain(*len),
            Delta::Deleted(len) => Step::Delete(*len),
            Delta::Inserted(yrs::Out::Any(yrs::Any::String(s)), _) => {
                Step::Insert(s.encode_utf16().count() as u32)
            }
            // An embed takes one position.
            Delta::Inserted(..) => Step::Insert(1),
        })
        .collect()
}

/// `len` UTF-16 units written with client id `client`, at `clock` (or at a
/// clock of the same transaction, which has the same author: a claim never
/// starts inside one update's items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Units.
    pub len: u32,
    /// The client id.
    pub client: u64,
    /// Its clock.
    pub clock: u32,
}

/// A text as pieces of one client id each, kept edit by edit
/// ([`Pieces::apply`]) so the runs follow typing without reading the whole
/// document again ([`item_spans`] is for the start and for transactions
/// that bring several writers' items at once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pieces {
    /// In document order, none empty.
    pieces: Vec<Piece>,
}

impl Pieces {
    /// The pieces of a text read item by item.
    pub fn from_spans(spans: &[ItemSpan]) -> Self {
        let mut pieces = Self::default();
        for span in spans.iter().filter(|s| s.len > 0) {
            pieces.push(Piece {
                len: span.len,
                client: span.client,
                clock: span.clock,
            });
        }
        pieces
    }

    /// Units in all.
    pub fn len(&self) -> u32 {
        self.pieces.iter().map(|p| p.len).sum()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// How many pieces there are.
    pub fn count(&self) -> usize {
        self.pieces.len()
    }

    fn push(&mut self, piece: Piece) {
        match self.pieces.last_mut() {
            Some(last)
                if last.client == piece.client
                    && last.clock.checked_add(last.len) == Some(piece.clock) =>
            {
                last.len += piece.len;
            }
            _ => self.pieces.push(piece),
        }
    }

    /// Splits piece `i` so that a piece starts `at` units into it; the index
    /// of that piece.
    fn split(&mut self, i: usize, at: u32) -> usize {
        if at == 0 {
            return i;
        }
        let piece = self.pieces[i];
        self.pieces[i].len = at;
        self.pieces.insert(
            i + 1,
            Piece {
                len: piece.len - at,
                client: piece.client,
                clock: piece.clock.saturating_add(at),
            },
        );
        i + 1
    }

    /// Applies one transaction's `steps`, its insertions written with
    /// client id `client` from `clock` on. Steps past the end are ignored
    /// (the text and the pieces disagree: the caller reads the text again).
    /// Returns whether they fit.
    pub fn apply(&mut self, steps: &[Step], client: u64, clock: u32) -> bool {
        let (mut i, mut off) = (0usize, 0u32);
        let mut written = 0u32;
        for step in steps {
            match *step {
                Step::Retain(mut n) => {
                    while n > 0 {
                        let Some(piece) = self.pieces.get(i) else {
                            return false;
                        };
                        let rest = piece.len - off;
                        if n < rest {
                            off += n;
                            n = 0;
                        } else {
                            n -= rest;
                            i += 1;
                            off = 0;
                        }
                    }
                }
                Step::Delete(mut n) => {
                    if i < self.pieces.len() {
                        i = self.split(i, off);
                        off = 0;
                    }
                    while n > 0 {
                        let Some(piece) = self.pieces.get_mut(i) else {
                            return false;
                        };
                        if piece.len <= n {
                            n -= piece.len;
                            self.pieces.remove(i);
                        } else {
                            piece.len -= n;
                            piece.clock = piece.clock.saturating_add(n);
                            n = 0;
                        }
                    }
                }
                Step::Insert(n) if n > 0 => {
                    if i < self.pieces.len() {
                        i = self.split(i, off);
                    }
                    off = 0;
                    let piece = Piece {
                        len: n,
                        client,
                        clock: clock.saturating_add(written),
                    };
                    written = written.saturating_add(n);
                    // Typing at the end of one's own piece extends it.
                    match i.checked_sub(1).map(|p| &mut self.pieces[p]) {
                        Some(before)
                            if before.client == client
                                && before.clock.checked_add(before.len) == Some(piece.clock) =>
                        {
                            before.len += n;
                        }
                        _ => {
                            self.pieces.insert(i, piece);
                            i += 1;
                        }
                    }
                }
                Step::Insert(_) => {}
            }
        }
        true
    }

    /// The runs of one author each, under `lookup`.
    pub fn runs(&self, lookup: &Lookup) -> Vec<Run> {
        let spans: Vec<ItemSpan> = self
            .pieces
            .iter()
            .map(|p| ItemSpan {
                client: p.client,
                clock: p.clock,
                len: p.len,
            })
            .collect();
        runs(&spans, lookup)
    }
}

/// A run as exported (`GET /api/rooms/{room}/authors`): offsets in UTF-16
/// units, as JavaScript strings and Yjs count, and the author's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedRun {
    /// First unit.
    pub from: u32,
    /// One past the last unit.
    pub to: u32,
    /// Who wrote it; `null` when no claim covers it.
    pub author: Option<AuthorId>,
}

/// The answer of `GET /api/rooms/{room}/authors`: the body, its runs and
/// the room's authors (with their names as the page shows them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorsExport {
    /// The document's title.
    pub title: String,
    /// The document's body, which the runs cover.
    pub text: String,
    /// One author each, in order, covering the whole body.
    pub runs: Vec<ExportedRun>,
    /// Every author of the room (not only those with text left).
    pub authors: Vec<ExportedAuthor>,
}

/// An author as exported: the table's entry and its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedAuthor {
    /// The entry.
    #[serde(flatten)]
    pub author: Author,
    /// How Tandem names it ([`Author::label`], times in UTC).
    pub label: String,
}

impl AuthorsExport {
    /// The export of `text` and its `runs`, with `table`'s authors.
    pub fn new(title: String, text: String, runs: &[Run], table: &Authorship) -> Self {
        let runs = runs
            .iter()
            .map(|run| ExportedRun {
                from: run.from,
                to: run.to,
                author: run
                    .author
                    .and_then(|i| table.authors.get(i))
                    .map(|a| a.id.clone()),
            })
            .collect();
        let authors = table
            .authors
            .iter()
            .map(|author| ExportedAuthor {
                label: author.label(utc_minute),
                author: author.clone(),
            })
            .collect();
        Self {
            title,
            text,
            runs,
            authors,
        }
    }
}

/// `2026-12-07 14:03 UTC` for Unix milliseconds (proleptic Gregorian, from
/// Howard Hinnant's `civil_from_days`:
/// <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>).
pub fn utc_minute(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000);
    let (days, minute) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minute / 60,
        minute % 60
    )
}

/// Each author's share of a text: units per author position (`None`: not
/// recorded), largest first, from its runs.
pub fn shares(runs: &[Run]) -> Vec<(Option<usize>, u32)> {
    let mut totals: Vec<(Option<usize>, u32)> = Vec::new();
    for run in runs {
        let len = run.to - run.from;
        match totals.iter_mut().find(|(a, _)| *a == run.author) {
            Some((_, total)) => *total += len,
            None => totals.push((run.author, len)),
        }
    }
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    totals
}

/// The runs of `doc`'s text `name` under `table`, read in one write
/// transaction (see [`item_spans`]).
pub fn runs_of(doc: &yrs::Doc, name: &str, table: &Authorship) -> Vec<Run> {
    use yrs::Transact;
    let text = doc.get_or_insert_text(name);
    let mut txn = doc.transact_mut();
    let spans = item_spans(&mut txn, &text);
    drop(txn);
    runs(&spans, &table.lookup())
}

#[cfg(test)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, GetString, Transact, Update};

    use super::*;
    use crate::doc::{CONTENT, new_doc};

    fn id(text: &str) -> AuthorId {
        AuthorId::new(text).expect("valid id")
    }

    fn person(name: &str) -> Author {
        Author {
            id: id(&name.to_lowercase()),
            kind: AuthorKind::Person,
            name: name.into(),
            color: "#2f8636".into(),
            restored: None,
        }
    }

    fn claim(client: u64, clock: u32, author: &str) -> Claim {
        Claim {
            client,
            clock,
            author: id(author),
        }
    }

    fn sync(from: &Doc, to: &Doc) {
        let update = from
            .transact()
            .encode_diff_v1(&to.transact().state_vector());
        to.transact_mut()
            .apply_update(Update::decode_v1(&update).expect("decodes"))
            .expect("applies");
    }

    fn with_client(client: u64) -> Doc {
        Doc::with_options(yrs::Options {
            client_id: yrs::block::ClientID::new(client),
            offset_kind: yrs::OffsetKind::Utf16,
            ..yrs::Options::default()
        })
    }

    #[test]
    fn ids_and_secrets_follow_their_rules() {
        assert!(AuthorId::new("p_Ab-9").is_ok());
        assert!(AuthorId::new("").is_err());
        assert!(AuthorId::new("a b").is_err());
        assert!(AuthorId::new("x".repeat(41)).is_err());
        assert!(serde_json::from_str::<AuthorId>("\"bad id\"").is_err());
        assert!(valid_secret("abcdefghijklmnop"));
        assert!(!valid_secret("short"));
        assert!(!valid_secret(&"x".repeat(65)));
        assert!(!valid_secret("abcdefghijklmnop!"));
    }

    #[test]
    fn authors_are_named_honestly() {
        let when = |_| "2026-12-07 14:03 UTC".to_owned();
        assert_eq!(person("Ada").label(when), "Ada");
        let mut yjs = person("Grace");
        yjs.kind = AuthorKind::Yjs;
        assert_eq!(yjs.label(when), "Grace (Yjs client)");
        yjs.name.clear();
        assert_eq!(yjs.label(when), "Yjs client");
        let mut restore = person("R1");
        restore.name.clear();
        restore.kind = AuthorKind::Restore;
        restore.restored = Some(RestoredVersion {
            id: 4,
            at: 0,
            label: None,
        });
        assert_eq!(
            restore.label(when),
            "Restored version of 2026-12-07 14:03 UTC"
        );
        restore.restored = Some(RestoredVersion {
            id: 4,
            at: 0,
            label: Some("Draft".into()),
        });
        assert_eq!(restore.label(when), "Restored version of “Draft”");
        assert_eq!(utc_minute(1_796_069_400_000), "2026-11-30 20:10 UTC");
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
    }

    #[test]
    fn a_change_merges_and_the_first_claim_stands() {
        let mut table = Authorship::default();
        assert!(table.merge(Authorship {
            authors: vec![person("Ada")],
            claims: vec![claim(7, 0, "ada")],
        }));
        let mut renamed = person("Ada");
        renamed.name = "Ada L.".into();
        assert!(table.merge(Authorship {
            authors: vec![renamed.clone(), person("Bob")],
            claims: vec![claim(7, 0, "bob"), claim(7, 5, "bob"), claim(3, 0, "bob")],
        }));
        assert_eq!(table.authors, [renamed, person("Bob")]);
        assert_eq!(
            table.claims,
            [claim(3, 0, "bob"), claim(7, 0, "ada"), claim(7, 5, "bob")]
        );
        let again = table.clone();
        assert!(!table.merge(again), "nothing new");
        let lookup = table.lookup();
        assert_eq!(lookup.at(7, 0), (Some(0), 5));
        assert_eq!(lookup.at(7, 4), (Some(0), 5));
        assert_eq!(lookup.at(7, 5), (Some(1), u32::MAX));
        assert_eq!(lookup.at(9, 0), (None, u32::MAX));
    }

    #[test]
    fn runs_follow_the_items_and_split_at_claims() {
        let ada = with_client(1);
        let bob = with_client(2);
        let text = ada.get_or_insert_text(CONTENT);
        text.insert(&mut ada.transact_mut(), 0, "Hello world");
        sync(&ada, &bob);
        let theirs = bob.get_or_insert_text(CONTENT);
        // An emoji counts two units, in offsets and in clocks.
        theirs.insert(&mut bob.transact_mut(), 5, ", 👋 dear");
        sync(&bob, &ada);
        text.insert(&mut ada.transact_mut(), 0, ">> ");
        assert_eq!(text.get_string(&ada.transact()), ">> Hello, 👋 dear world");

        let table = Authorship {
            authors: vec![person("Ada"), person("Bob")],
            // "Hello world" (Ada's clocks 0..11) was written before any
            // claim: it has no author. ">> " (11..14) has one.
            claims: vec![claim(1, 11, "ada"), claim(2, 0, "bob")],
        };
        let runs = runs_of(&ada, CONTENT, &table);
        let r = |from, to, author| Run { from, to, author };
        assert_eq!(
            runs,
            [
                r(0, 3, Some(0)),
                r(3, 8, None),
                r(8, 17, Some(1)),
                r(17, 23, None)
            ]
        );
        assert_eq!(shares(&runs), [(None, 11), (Some(1), 9), (Some(0), 3)]);

        // A claim in the middle of an item splits it: from Ada's clock 2 to
        // her next claim, Bob wrote.
        let mut split = table.clone();
        split.merge(Authorship {
            authors: Vec::new(),
            claims: vec![claim(1, 2, "bob")],
        });
        let runs = runs_of(&ada, CONTENT, &split);
        assert_eq!(runs, [r(0, 3, Some(0)), r(3, 5, None), r(5, 23, Some(1))]);
    }

    /// Pieces kept from each transaction's delta give the runs read from
    /// the items, after every one of many random edits by three writers
    /// (each syncing with the others now and then, so their edits
    /// interleave and sometimes arrive several at once).
    #[test]
    fn pieces_kept_edit_by_edit_match_the_items() {
        use std::sync::{Arc, Mutex};
        use yrs::Observable;

        let writers: Vec<Doc> = (1..=3).map(with_client).collect();
        let reader = new_doc();
        let text = reader.get_or_insert_text(CONTENT);
        // What each of the reader's transactions did, as its page sees it.
        type Seen = Vec<(Vec<Step>, Option<(u64, u32)>)>;
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let sink = seen.clone();
        text.observe("pieces", move |txn, event| {
            let mut inserters = txn.insert_set().iter();
            let writer = match (inserters.next(), inserters.next()) {
                (Some((client, ranges)), None) => ranges
                    .iter()
                    .map(|r| r.start)
                    .min()
                    .map(|start| (client.get(), start)),
                (None, _) => Some((0, 0)),
                _ => None,
            };
            sink.lock()
                .expect("one thread")
                .push((steps(event.delta(txn)), writer));
        });
        let table = Authorship {
            authors: vec![person("A"), person("B"), person("C")],
            claims: vec![claim(1, 0, "a"), claim(2, 0, "b"), claim(3, 5, "c")],
        };
        let lookup = table.lookup();
        let mut pieces = Pieces::default();
        let mut rng = fastrand_like(7);
        for round in 0..600u32 {
            let w = &writers[rng() % 3];
            let body = w.get_or_insert_text(CONTENT);
            let len = body.len(&w.transact());
            let at = (rng() % (len as usize + 1)) as u32;
            if len > 0 && rng().is_multiple_of(3) {
                let n = ((rng() % 4) as u32 + 1).min(len - at.min(len - 1));
                body.remove_range(&mut w.transact_mut(), at.min(len - 1), n);
            } else {
                let words = ["a", "bc", "déf", "👋", "ghij "];
                body.insert(&mut w.transact_mut(), at, words[rng() % words.len()]);
            }
            // Now and then the writers catch up with each other and the
            // reader takes what one has, several writers' edits at once.
            if round.is_multiple_of(7) {
                for a in &writers {
                    for b in &writers {
                        sync(a, b);
                    }
                }
            }
            sync(w, &reader);
            for (steps, writer) in seen.lock().expect("one thread").drain(..) {
                let fits = match writer {
                    Some((client, clock)) => pieces.apply(&steps, client, clock),
                    None => false,
                };
                if !fits {
                    let spans = item_spans(&mut reader.transact_mut(), &text);
                    pieces = Pieces::from_spans(&spans);
                }
            }
            let spans = item_spans(&mut reader.transact_mut(), &text);
            assert_eq!(pieces.runs(&lookup), runs(&spans, &lookup), "round {round}");
            assert_eq!(pieces.len(), text.len(&reader.transact()));
        }
        assert!(pieces.count() > 1);
    }

    /// A small deterministic generator (SplitMix64) for the random edits.
    fn fastrand_like(seed: u64) -> impl FnMut() -> usize {
        let mut state = seed;
        move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as usize
        }
    }

    #[test]
    fn deleted_text_has_no_run_and_reading_runs_emits_no_update() {
        let doc = new_doc();
        let text = doc.get_or_insert_text(CONTENT);
        text.insert(&mut doc.transact_mut(), 0, "abcdef");
        text.remove_range(&mut doc.transact_mut(), 1, 3);
        let updates = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let seen = updates.clone();
        doc.observe_update_v1("count", move |_, _| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .expect("observe");
        let client = doc.client_id().get();
        let table = Authorship {
            authors: vec![person("Ada")],
            claims: vec![claim(client, 0, "ada")],
        };
        let runs = runs_of(&doc, CONTENT, &table);
        assert_eq!(
            runs,
            [Run {
                from: 0,
                to: 3,
                author: Some(0)
            }]
        );
        assert_eq!(updates.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(text.get_string(&doc.transact()), "aef");
    }
}
