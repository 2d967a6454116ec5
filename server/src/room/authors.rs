//! Who wrote what, as a room decides it (issue 28): a sans-I/O policy beside
//! the pipeline. The actor tells it who joined (and as whom), what each
//! member calls itself, which client ids an applied update brought new
//! items for, and what other nodes recorded; it answers with the change to
//! the room's [`Authorship`] (which the actor sends to its Tandem members at
//! once, before the update it attributes, and hands to the pipeline, which
//! stores it in the update's own transaction) and with the colour a joiner
//! is given.
//!
//! The rules:
//! - A member writes as one author: a person (a Tandem page presenting its
//!   browser's author secret: the same author in every connection of that
//!   browser, [`Identity::from_hello`]), a connection of its own (a Tandem
//!   client presenting none), a Yjs client (named `y{client id}` after the
//!   first client id it writes with, so a Yjs application that reconnects
//!   with the same document stays one author) or a restore (the room's own
//!   edit, `r{client id}`, named after the version it brought back).
//! - New items of a client id are claimed, from their first clock, by the
//!   author of the member that sent them, unless that author holds the
//!   claim in force there already. So the first connection to write with a
//!   client id claims it; a second connection of another author that writes
//!   with it gets a claim of its own from where its own items start: each
//!   keeps exactly the characters it sent, and neither's edit is refused
//!   (a client id is not a credential; see `docs/PROTOCOL.md`).
//! - An author's record (name, colour) follows the person's latest presence
//!   and colour in this room; it is stored once they have written.
//! - Colours: a joiner keeps the colour it has as an author of the document
//!   unless someone present shows it, else gets the one its browser prefers
//!   when nobody present and no other author has it, else the palette
//!   colour fewest people present and fewest authors have ([`palette::pick`]).
//!
//! It also counts the characters each update added and removed (text
//! observers on the room's document, [`ChangeCounter`]), which the actor
//! credits to the writer's author in the next checkpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tandem_shared::authors::{Author, AuthorId, AuthorKind, Authorship, Claim, RestoredVersion};
use tandem_shared::doc::{CONTENT, TITLE};
use tandem_shared::palette::{self, RESTORE_COLOR};
use tandem_shared::{ClientId, RoomId};
use yrs::types::Delta;
use yrs::{Any, Doc, Observable, Out};

/// Who a connection says it is, as it joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identity {
    /// A Tandem page that presented its browser's author secret: `author`
    /// is the digest of it for this room, `preferred` the colour the page
    /// would like.
    Person {
        /// The author it writes as.
        author: AuthorId,
        /// The colour its browser picked, if any.
        preferred: Option<String>,
    },
    /// A Tandem client that presented no secret: it writes as an author of
    /// its own, for this connection only.
    Connection {
        /// The colour it would like, if any.
        preferred: Option<String>,
    },
    /// A stock Yjs client on `/yjs/`.
    Yjs,
}

impl Identity {
    /// The identity of a Tandem `hello` in `room`: the author secret becomes
    /// an author id only this browser can present (a digest of the room and
    /// the secret: unlinkable from room to room, and the secret itself is
    /// never shown to anyone).
    pub(crate) fn from_hello(room: &RoomId, secret: Option<&str>, color: Option<&str>) -> Self {
        let preferred = color
            .filter(|c| palette::rgb(c).is_some())
            .map(str::to_ascii_lowercase);
        match secret {
            Some(secret) => {
                let digest = Sha256::new()
                    .chain_update(b"tandem author\0")
                    .chain_update(room.as_str().as_bytes())
                    .chain_update(b"\0")
                    .chain_update(secret.as_bytes())
                    .finalize();
                let id = format!("p{}", URL_SAFE_NO_PAD.encode(&digest[..15]));
                match AuthorId::new(id) {
                    Ok(author) => Self::Person { author, preferred },
                    Err(_) => Self::Connection { preferred },
                }
            }
            None => Self::Connection { preferred },
        }
    }

    fn preferred(&self) -> Option<&str> {
        match self {
            Self::Person { preferred, .. } | Self::Connection { preferred } => preferred.as_deref(),
            Self::Yjs => None,
        }
    }
}

/// A member as an author.
#[derive(Debug, Clone)]
struct Writer {
    /// The author it writes as; a Yjs client's is decided at its first write.
    author: Option<AuthorId>,
    /// Which kind of author.
    kind: AuthorKind,
    /// Its latest display name ("" before it gave one).
    name: String,
    /// Its colour in this room.
    color: String,
    /// For a restore: the version it brings back.
    restored: Option<RestoredVersion>,
}

impl Writer {
    fn record(&self, id: AuthorId) -> Author {
        Author {
            id,
            kind: self.kind,
            name: self.name.clone(),
            color: self.color.clone(),
            restored: self.restored.clone(),
        }
    }
}

/// The name the Yjs translation gives an awareness without a name
/// (`tandem_shared::yjs`): not a name the person gave.
const UNNAMED_YJS: &str = "Yjs user";

/// A room's authorship and its members as authors.
#[derive(Debug, Default)]
pub(super) struct RoomAuthors {
    /// The room's whole table: stored, on its way to the store, and what
    /// other nodes recorded.
    table: Authorship,
    /// Per client id, its claims by clock: whose the next new items are.
    claims: HashMap<u64, Vec<(u32, AuthorId)>>,
    /// The members (and the room's own restore, under `ClientId(0)`).
    writers: HashMap<ClientId, Writer>,
    /// Characters the document's texts gained and lost since last taken.
    counter: ChangeCounter,
}

impl RoomAuthors {
    /// The authorship the store holds for the room.
    pub(super) fn loaded(stored: Authorship) -> Self {
        let mut authors = Self::default();
        authors.merge(stored);
        authors
    }

    /// The whole table, for a joiner's `welcome`.
    pub(super) fn table(&self) -> &Authorship {
        &self.table
    }

    /// Adds `change` to the table and the claim index; what was new in it.
    fn merge(&mut self, change: Authorship) -> Option<Authorship> {
        let mut new = Authorship::default();
        for author in change.authors {
            if self.table.author(&author.id) != Some(&author) {
                new.authors.push(author);
            }
        }
        for claim in change.claims {
            let claims = self.claims.entry(claim.client).or_default();
            if let Err(at) = claims.binary_search_by_key(&claim.clock, |(clock, _)| *clock) {
                claims.insert(at, (claim.clock, claim.author.clone()));
                new.claims.push(claim);
            }
        }
        if new.is_empty() {
            return None;
        }
        self.table.merge(new.clone());
        Some(new)
    }

    /// Connection `client` joins as `identity`; `shown` are the colours the
    /// others in the room show (their presence, here and on other nodes).
    /// Returns its colour and, for a person whose recorded colour changes,
    /// the change to the table.
    pub(super) fn join(
        &mut self,
        client: ClientId,
        identity: &Identity,
        shown: &[String],
    ) -> (String, Option<Authorship>) {
        let author = match identity {
            Identity::Person { author, .. } => Some(author.clone()),
            Identity::Connection { .. } => Some(random_author('c')),
            Identity::Yjs => None,
        };
        let kind = match identity {
            Identity::Yjs => AuthorKind::Yjs,
            _ => AuthorKind::Person,
        };
        let recorded = author.as_ref().and_then(|a| self.table.author(a)).cloned();
        let color = self.pick(client, recorded.as_ref(), identity.preferred(), shown);
        let writer = Writer {
            author,
            kind,
            name: recorded
                .as_ref()
                .map_or_else(String::new, |r| r.name.clone()),
            color,
            restored: None,
        };
        let change = match recorded {
            Some(record) if record.color != writer.color => {
                let updated = writer.record(record.id);
                self.merge(Authorship {
                    authors: vec![updated],
                    claims: Vec::new(),
                })
            }
            _ => None,
        };
        let color = writer.color.clone();
        self.writers.insert(client, writer);
        (color, change)
    }

    /// A colour for `client`, keeping `recorded`'s where it can.
    fn pick(
        &self,
        client: ClientId,
        recorded: Option<&Author>,
        preferred: Option<&str>,
        shown: &[String],
    ) -> String {
        let mut present: Vec<&str> = shown.iter().map(String::as_str).collect();
        present.extend(
            self.writers
                .iter()
                .filter(|(id, w)| **id != client && w.kind != AuthorKind::Restore)
                .map(|(_, w)| w.color.as_str()),
        );
        let own = recorded.map(|r| &r.id);
        let authors: Vec<&str> = self
            .table
            .authors
            .iter()
            .filter(|a| Some(&a.id) != own && a.kind != AuthorKind::Restore)
            .map(|a| a.color.as_str())
            .collect();
        palette::pick(
            recorded.map(|r| r.color.as_str()),
            preferred,
            &present,
            &authors,
        )
    }

    /// Member `client` now calls itself `name` (`None`: it cleared its
    /// presence). The change to the table, if it is an author renamed.
    pub(super) fn named(&mut self, client: ClientId, name: Option<&str>) -> Option<Authorship> {
        let writer = self.writers.get_mut(&client)?;
        let name = name?;
        let name = if writer.kind == AuthorKind::Yjs && name == UNNAMED_YJS {
            ""
        } else {
            name
        };
        if writer.name == name {
            return None;
        }
        writer.name = name.to_owned();
        let id = writer.author.clone()?;
        let record = self.table.author(&id)?;
        let mut updated = record.clone();
        updated.name = name.to_owned();
        self.merge(Authorship {
            authors: vec![updated],
            claims: Vec::new(),
        })
    }

    /// Member `client` left.
    pub(super) fn left(&mut self, client: ClientId) {
        self.writers.remove(&client);
    }

    /// The room itself (writing as `room`) is about to apply a restore of
    /// `version`: the text it puts back is attributed to "the restored
    /// version of …", one author per version restored.
    pub(super) fn restoring(&mut self, room: ClientId, version: RestoredVersion) {
        let writer = Writer {
            author: AuthorId::new(format!("r{}", version.id)).ok(),
            kind: AuthorKind::Restore,
            name: String::new(),
            color: RESTORE_COLOR.to_owned(),
            restored: Some(version),
        };
        self.writers.insert(room, writer);
    }

    /// `client` (a member, or the room's restore) sent an update that
    /// brought new items for each `(client id, first new clock)` of
    /// `grown` (none for an update that only deletes): the claims and
    /// authors that adds to the table. An author is recorded once it has
    /// written or removed anything.
    pub(super) fn wrote(&mut self, client: ClientId, grown: &[(u64, u32)]) -> Option<Authorship> {
        let writer = self.writers.get_mut(&client)?;
        if writer.author.is_none() {
            // A Yjs client: named after the first client id it writes with.
            let (yrs_first, _) = *grown.first()?;
            writer.author = AuthorId::new(format!("y{yrs_first}")).ok();
        }
        let id = writer.author.clone()?;
        let writer = writer.clone();
        let mut change = Authorship::default();
        if self.table.author(&id).is_none() {
            change.authors.push(writer.record(id.clone()));
        }
        for &(yrs_client, clock) in grown {
            let holder = self.claims.get(&yrs_client).and_then(|claims| {
                let after = claims.partition_point(|(start, _)| *start <= clock);
                after.checked_sub(1).map(|i| &claims[i].1)
            });
            if holder != Some(&id) {
                change.claims.push(Claim {
                    client: yrs_client,
                    clock,
                    author: id.clone(),
                });
            }
        }
        self.merge(change)
    }

    /// What another node recorded (it stored it): the part new here.
    pub(super) fn recorded_elsewhere(&mut self, change: Authorship) -> Option<Authorship> {
        self.merge(change)
    }

    /// The author member `client` writes as, once known.
    pub(super) fn author_of(&self, client: ClientId) -> Option<&AuthorId> {
        self.writers.get(&client)?.author.as_ref()
    }

    /// The counter of characters changed, to watch a (new) document with.
    pub(super) fn counter(&self) -> &ChangeCounter {
        &self.counter
    }
}

/// An author id of `prefix` and 120 random bits, for a writer that has no
/// identity of its own.
fn random_author(prefix: char) -> AuthorId {
    let bytes: [u8; 15] = std::array::from_fn(|_| fastrand::u8(..));
    let id = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    // 1 + 20 characters of the base64url alphabet: always valid.
    AuthorId::new(id).unwrap_or_else(|_| unreachable_author())
}

#[cold]
fn unreachable_author() -> AuthorId {
    AuthorId::new("c").unwrap_or_else(|_| unreachable!("'c' is a valid author id"))
}

/// Counts the UTF-16 units the document's title and body gain and lose,
/// from their text events (observers added by [`ChangeCounter::watch`]).
/// Shared with the observers, which yrs requires to be `Send + Sync`.
#[derive(Debug, Default, Clone)]
pub(super) struct ChangeCounter {
    /// Units inserted since last taken.
    added: Arc<AtomicU64>,
    /// Units removed since last taken.
    removed: Arc<AtomicU64>,
}

/// Key of the counting observers.
const COUNTING: &str = "tandem:authors";

impl ChangeCounter {
    /// Counts the changes of `doc`'s title and body from now on.
    pub(super) fn watch(&self, doc: &Doc) {
        for name in [CONTENT, TITLE] {
            let (added, removed) = (self.added.clone(), self.removed.clone());
            doc.get_or_insert_text(name)
                .observe(COUNTING, move |txn, event| {
                    for op in event.delta(txn) {
                        match op {
                            Delta::Inserted(Out::Any(Any::String(text)), _) => {
                                added.fetch_add(
                                    text.encode_utf16().count() as u64,
                                    Ordering::Relaxed,
                                );
                            }
                            Delta::Inserted(..) => {
                                added.fetch_add(1, Ordering::Relaxed);
                            }
                            Delta::Deleted(len) => {
                                removed.fetch_add(u64::from(*len), Ordering::Relaxed);
                            }
                            Delta::Retain(..) => {}
                        }
                    }
                });
        }
    }

    /// What was added and removed since the last call.
    pub(super) fn take(&self) -> (u64, u64) {
        (
            self.added.swap(0, Ordering::Relaxed),
            self.removed.swap(0, Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use yrs::{Text, Transact};

    use super::*;

    fn room() -> RoomId {
        RoomId::new("authors").expect("room")
    }

    fn person(secret: &str, color: &str) -> Identity {
        Identity::from_hello(&room(), Some(secret), Some(color))
    }

    fn author_of(identity: &Identity) -> AuthorId {
        match identity {
            Identity::Person { author, .. } => author.clone(),
            other => panic!("not a person: {other:?}"),
        }
    }

    const ADA: ClientId = ClientId(1);
    const BOB: ClientId = ClientId(2);

    #[test]
    fn a_persons_id_is_a_digest_of_their_secret_per_room() {
        let ada = person("ada-secret-0123456789", "#d23f4a");
        let again = person("ada-secret-0123456789", "#1a7bb8");
        assert_eq!(author_of(&ada), author_of(&again));
        let id = author_of(&ada);
        assert!(id.as_str().starts_with('p') && !id.as_str().contains("ada"));
        let elsewhere = Identity::from_hello(
            &RoomId::new("other").expect("room"),
            Some("ada-secret-0123456789"),
            None,
        );
        assert_ne!(author_of(&elsewhere), id, "unlinkable across rooms");
        assert!(matches!(
            Identity::from_hello(&room(), None, Some("not a colour")),
            Identity::Connection { preferred: None }
        ));
    }

    #[test]
    fn the_first_writer_claims_a_client_id_and_a_second_writer_gets_its_own_claim() {
        let mut authors = RoomAuthors::default();
        let (ada, bob) = (
            person("ada-secret-0123456789", "#d23f4a"),
            person("bob-secret-0123456789", "#d23f4a"),
        );
        let (ada_color, _) = authors.join(ADA, &ada, &[]);
        let (bob_color, _) = authors.join(BOB, &bob, &[]);
        assert_eq!(ada_color, "#d23f4a");
        assert_ne!(bob_color, ada_color, "present people get distinct colours");
        authors.named(ADA, Some("Ada"));
        let change = authors.wrote(ADA, &[(1001, 0)]).expect("a claim");
        assert_eq!(change.authors.len(), 1);
        assert_eq!(change.authors[0].name, "Ada");
        assert_eq!(
            change.claims,
            [Claim {
                client: 1001,
                clock: 0,
                author: author_of(&ada)
            }]
        );
        assert_eq!(authors.wrote(ADA, &[(1001, 5)]), None, "hers already");
        // Bob writes with Ada's client id from clock 9: his own claim there.
        let change = authors.wrote(BOB, &[(1001, 9)]).expect("a claim");
        assert_eq!(
            change.claims,
            [Claim {
                client: 1001,
                clock: 9,
                author: author_of(&bob)
            }]
        );
        assert_eq!(change.authors[0].name, "", "Bob gave no name yet");
        // Ada writes after him: hers again from there.
        let change = authors.wrote(ADA, &[(1001, 12)]).expect("a claim");
        assert_eq!(change.claims[0].clock, 12);
        assert!(change.authors.is_empty());
        assert_eq!(authors.table().claims.len(), 3);
    }

    #[test]
    fn renames_reach_the_table_only_for_authors() {
        let mut authors = RoomAuthors::default();
        let ada = person("ada-secret-0123456789", "#d23f4a");
        authors.join(ADA, &ada, &[]);
        assert_eq!(authors.named(ADA, Some("Ada")), None, "not an author yet");
        authors.wrote(ADA, &[(7, 0)]);
        let change = authors.named(ADA, Some("Ada L.")).expect("renamed");
        assert_eq!(change.authors[0].name, "Ada L.");
        assert!(change.claims.is_empty());
        assert_eq!(authors.named(ADA, Some("Ada L.")), None, "unchanged");
        assert_eq!(authors.named(ADA, None), None, "leaving renames nobody");
    }

    #[test]
    fn a_returning_author_keeps_their_colour_unless_someone_present_shows_it() {
        let stored = Authorship {
            authors: vec![Author {
                id: author_of(&person("ada-secret-0123456789", "#d23f4a")),
                kind: AuthorKind::Person,
                name: "Ada".into(),
                color: "#0f8274".into(),
                restored: None,
            }],
            claims: Vec::new(),
        };
        let ada = person("ada-secret-0123456789", "#d23f4a");
        let mut authors = RoomAuthors::loaded(stored.clone());
        let (color, change) = authors.join(ADA, &ada, &[]);
        assert_eq!((color.as_str(), change), ("#0f8274", None));

        let mut authors = RoomAuthors::loaded(stored);
        let (color, change) = authors.join(ADA, &ada, &["#0f8274".into()]);
        assert_eq!(color, "#d23f4a", "her own colour is shown by someone here");
        let change = change.expect("her record follows her colour");
        assert_eq!(change.authors[0].color, "#d23f4a");
        assert_eq!(change.authors[0].name, "Ada", "and keeps her name");
    }

    #[test]
    fn yjs_clients_are_named_after_their_client_id_and_restores_after_their_version() {
        let mut authors = RoomAuthors::default();
        authors.join(ClientId(3), &Identity::Yjs, &[]);
        authors.named(ClientId(3), Some(UNNAMED_YJS));
        let change = authors.wrote(ClientId(3), &[(4242, 0)]).expect("a claim");
        assert_eq!(change.authors[0].id.as_str(), "y4242");
        assert_eq!(change.authors[0].kind, AuthorKind::Yjs);
        assert_eq!(change.authors[0].name, "", "no name of its own");
        authors.named(ClientId(3), Some("Grace"));
        assert_eq!(authors.table().authors[0].name, "Grace");

        let version = RestoredVersion {
            id: 4,
            at: 1_000,
            label: Some("Draft".into()),
        };
        authors.restoring(ClientId(0), version.clone());
        let change = authors.wrote(ClientId(0), &[(777, 0)]).expect("a claim");
        let restore = &change.authors[0];
        assert_eq!(
            (restore.id.as_str(), restore.kind),
            ("r4", AuthorKind::Restore)
        );
        assert_eq!(restore.restored, Some(version));
        assert_eq!(restore.color, RESTORE_COLOR);
    }

    #[test]
    fn what_another_node_recorded_is_merged_once() {
        let mut authors = RoomAuthors::default();
        let ada = person("ada-secret-0123456789", "#d23f4a");
        authors.join(ADA, &ada, &[]);
        let change = authors.wrote(ADA, &[(1, 0)]).expect("a claim");
        let mut other = RoomAuthors::default();
        assert_eq!(
            other.recorded_elsewhere(change.clone()),
            Some(change.clone())
        );
        assert_eq!(other.recorded_elsewhere(change), None);
        assert_eq!(other.table(), authors.table());
    }

    #[test]
    fn the_counter_counts_units_added_and_removed() {
        let doc = tandem_shared::doc::new_doc();
        let counter = ChangeCounter::default();
        counter.watch(&doc);
        let body = doc.get_or_insert_text(CONTENT);
        body.insert(&mut doc.transact_mut(), 0, "héllo 👋");
        body.remove_range(&mut doc.transact_mut(), 0, 2);
        doc.get_or_insert_text(TITLE)
            .insert(&mut doc.transact_mut(), 0, "T");
        assert_eq!(counter.take(), (9, 2));
        assert_eq!(counter.take(), (0, 0));
    }
}
