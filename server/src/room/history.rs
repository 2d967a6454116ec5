//! A room's version history: when its actor takes a checkpoint, whom a
//! checkpoint credits, which old checkpoints retention drops, and restoring
//! an old version as a forward edit.
//!
//! Checkpoints are taken after a stretch of editing (the first edit since
//! the previous checkpoint starts a timer of [`HistoryPolicy::interval`]),
//! when the room unloads or the server stops with edits not yet
//! checkpointed, when a person names the current state, and on both sides of
//! every restore. Each one stores the whole encoded state beside the log
//! (compaction never touches it) and then applies [`thin`] to the room's
//! versions.
//!
//! A restore does not rewind the CRDT: it computes the smallest splice from
//! the current text to the old text ([`splice`]), applies it to the room's
//! document as the server's own edit and hands it to the usual relay and
//! store path, so open clients converge live and offline ones merge later.
//! The checkpoint taken just before makes the restore itself undoable.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tandem_shared::doc::{CONTENT, TITLE};
use tandem_shared::history::VersionEntry;
use tandem_shared::{ClientId, RoomId, SyncFrame};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{error, info};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

use super::document::{self, Exported};
use super::members::Members;
use super::pipeline::Pipeline;
use super::recipient::Outbound;
use crate::access::{self, Right};
use crate::store::{NewVersion, Store, StoreError, Version, VersionKind};

/// The origin the server's own edits (restores) are counted under in the
/// pipeline: connection ids start at 1, so no member is ever told `saved`
/// for it and relaying reaches every member.
const SERVER: ClientId = ClientId(0);

/// Name credited for edits by someone who gave no name.
pub const ANONYMOUS: &str = "Anonymous";

/// When checkpoints are taken and how long they are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPolicy {
    /// A checkpoint this long after the first edit since the previous one.
    pub interval: Duration,
    /// Every checkpoint younger than this is kept...
    pub keep_all: Duration,
    /// ...then the newest of each hour up to this age, then the newest of
    /// each day forever. Named versions are kept until deleted.
    pub keep_hourly: Duration,
}

impl Default for HistoryPolicy {
    /// Every 10 minutes of editing; all for a day, hourly for 30 days.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10 * 60),
            keep_all: Duration::from_secs(24 * 3600),
            keep_hourly: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// The versions retention drops from `versions` at `now_ms` (Unix ms): past
/// [`HistoryPolicy::keep_all`], all but the newest of each UTC hour; past
/// [`HistoryPolicy::keep_hourly`], all but the newest of each UTC day. Named
/// versions are never dropped, nor counted as a bucket's keeper (so naming
/// one does not cost its neighbours their place).
pub fn thin(versions: &[Version], now_ms: i64, policy: &HistoryPolicy) -> Vec<u64> {
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    let keep_all = policy.keep_all.as_millis() as i64;
    let keep_hourly = policy.keep_hourly.as_millis() as i64;
    let mut newest_first: Vec<&Version> = versions.iter().collect();
    newest_first.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    // (is a day bucket, bucket number): the first version seen in a bucket
    // is its newest and stays.
    let mut kept: HashSet<(bool, i64)> = HashSet::new();
    let mut dropped = Vec::new();
    for version in newest_first {
        let age = now_ms.saturating_sub(version.at);
        if version.label.is_some() || age <= keep_all {
            continue;
        }
        let bucket = if age <= keep_hourly {
            (false, version.at.div_euclid(HOUR))
        } else {
            (true, version.at.div_euclid(DAY))
        };
        if !kept.insert(bucket) {
            dropped.push(version.id);
        }
    }
    dropped
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The API's view of a stored version.
pub fn entry(version: &Version) -> VersionEntry {
    VersionEntry {
        id: version.id,
        at: version.at,
        authors: version.authors.clone(),
        label: version.label.clone(),
        kind: version.kind.as_str().to_string(),
        restored_from: version.restored_from,
    }
}

/// Why a history request was not served. The API turns each into a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The room is protected and the request has no valid key.
    #[error("this document needs a link with a key")]
    NoAccess,
    /// The request may read but not change the room (a view key).
    #[error("only editors may do this; this link is view-only")]
    ReadOnly,
    /// The room has no version with that id.
    #[error("no such version")]
    NotFound,
    /// Restoring would grow the document past `--max-document-bytes`.
    #[error("the document is at its size limit")]
    TooLarge,
    /// The stored version does not decode.
    #[error("the stored version is damaged")]
    Damaged,
    /// The store failed; the detail is logged.
    #[error("storage failure: {0}")]
    Store(String),
}

impl From<StoreError> for HistoryError {
    fn from(err: StoreError) -> Self {
        Self::Store(err.to_string())
    }
}

/// What the HTTP API asks of a room's history; answered by its actor.
#[derive(Debug)]
pub(crate) enum HistoryCmd {
    /// The room's versions, newest first.
    List {
        /// The right of the requester's key, if any.
        key: Option<Right>,
        /// The versions, or why not.
        reply: oneshot::Sender<Result<Vec<Version>, HistoryError>>,
    },
    /// The title and body of one version.
    Text {
        /// The right of the requester's key, if any.
        key: Option<Right>,
        /// The version.
        id: u64,
        /// Its text, or why not.
        reply: oneshot::Sender<Result<Exported, HistoryError>>,
    },
    /// Checkpoints the current state under a label.
    Name {
        /// The right of the requester's key, if any.
        key: Option<Right>,
        /// The label, already checked.
        label: String,
        /// The new version, or why not.
        reply: oneshot::Sender<Result<Version, HistoryError>>,
    },
    /// Names (or renames) an existing version.
    Label {
        /// The right of the requester's key, if any.
        key: Option<Right>,
        /// The version.
        id: u64,
        /// The label, already checked.
        label: String,
        /// The version as labelled, or why not.
        reply: oneshot::Sender<Result<Version, HistoryError>>,
    },
    /// Deletes a version (named ones are kept until this).
    Delete {
        /// The right of the requester's key, if any.
        key: Option<Right>,
        /// The version.
        id: u64,
        /// Done, or why not.
        reply: oneshot::Sender<Result<(), HistoryError>>,
    },
    /// Makes the current text the text of version `id`, as a forward edit.
    Restore {
        /// The right of the requester's key, if any.
        key: Option<Right>,
        /// The version to bring back.
        id: u64,
        /// The checkpoint taken right after the restore, or why not.
        reply: oneshot::Sender<Result<Version, HistoryError>>,
    },
}

/// The parts of a room's actor a history operation works on, lent for one call.
pub(super) struct RoomParts<'a> {
    /// The room's name.
    pub(super) room: &'a RoomId,
    /// Where versions are kept.
    pub(super) store: &'a Arc<dyn Store>,
    /// The live document.
    pub(super) doc: &'a Doc,
    /// Who a restore is relayed to.
    pub(super) members: &'a mut Members,
    /// Where a restore goes to be stored.
    pub(super) pipeline: &'a mut Pipeline,
    /// Whether only edit keys may change the room.
    pub(super) protected: bool,
    /// `--max-document-bytes`.
    pub(super) max_document_bytes: u64,
}

/// A room's checkpoint state, owned by its actor.
#[derive(Debug)]
pub(super) struct History {
    /// When and how long.
    policy: HistoryPolicy,
    /// When the first edit since the previous checkpoint was applied; `None`
    /// when nothing changed since. The periodic checkpoint is due
    /// `policy.interval` after it.
    dirty_since: Option<Instant>,
    /// Who edited since the previous checkpoint, in order of first edit.
    editors: Vec<ClientId>,
    /// The names members gave in their presence; kept for editors who
    /// left until the checkpoint that credits them.
    names: HashMap<ClientId, String>,
}

impl History {
    /// Nothing to checkpoint yet.
    pub(super) fn new(policy: HistoryPolicy) -> Self {
        Self {
            policy,
            dirty_since: None,
            editors: Vec::new(),
            names: HashMap::new(),
        }
    }

    /// `client` changed the document.
    pub(super) fn edited(&mut self, client: ClientId) {
        self.dirty_since.get_or_insert_with(Instant::now);
        if !self.editors.contains(&client) {
            self.editors.push(client);
        }
    }

    /// `client` gave (or cleared) its name.
    pub(super) fn named(&mut self, client: ClientId, name: Option<&str>) {
        match name {
            Some(name) => {
                self.names.insert(client, name.to_string());
            }
            // Keep the name of someone who edited: the checkpoint credits them.
            None if !self.editors.contains(&client) => {
                self.names.remove(&client);
            }
            None => {}
        }
    }

    /// `client` left; its name is kept only while a checkpoint still owes it credit.
    pub(super) fn left(&mut self, client: ClientId) {
        if !self.editors.contains(&client) {
            self.names.remove(&client);
        }
    }

    /// When the periodic checkpoint is due, if anything changed.
    pub(super) fn due(&self) -> Option<Instant> {
        self.dirty_since.map(|since| since + self.policy.interval)
    }

    /// The names to credit, clearing the record for the next checkpoint.
    fn take_authors(&mut self, members: &Members) -> Vec<String> {
        let mut authors: Vec<String> = Vec::new();
        for client in std::mem::take(&mut self.editors) {
            let name = self
                .names
                .get(&client)
                .cloned()
                .unwrap_or_else(|| ANONYMOUS.to_string());
            if !authors.contains(&name) {
                authors.push(name);
            }
        }
        self.names.retain(|client, _| members.contains(*client));
        self.dirty_since = None;
        authors
    }

    /// Takes a checkpoint if anything changed since the previous one (the
    /// periodic one, or on unload). A failure is logged, not fatal: the
    /// edits themselves are safe in the log.
    pub(super) async fn checkpoint_if_dirty(&mut self, parts: RoomParts<'_>, kind: VersionKind) {
        if self.dirty_since.is_none() {
            return;
        }
        if let Err(err) = self.checkpoint(&parts, kind, None, None).await {
            error!(room = %parts.room, error = %err, "could not store a checkpoint");
        }
    }

    /// Stores the document's current state as a version crediting the
    /// editors since the previous one, then applies retention.
    async fn checkpoint(
        &mut self,
        parts: &RoomParts<'_>,
        kind: VersionKind,
        label: Option<String>,
        restored_from: Option<u64>,
    ) -> Result<Version, HistoryError> {
        let state = parts
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let authors = self.take_authors(parts.members);
        let (store, room, policy) = (parts.store.clone(), parts.room.clone(), self.policy);
        let at = now_ms();
        let version = tokio::task::spawn_blocking(move || -> Result<Version, StoreError> {
            let new = NewVersion {
                at,
                authors: &authors,
                label: label.as_deref(),
                kind,
                restored_from,
                state: &state,
            };
            let id = store.add_version(&room, &new)?;
            let versions = store.list_versions(&room)?;
            let dropped = thin(&versions, at, &policy);
            if !dropped.is_empty() {
                let deleted = store.delete_versions(&room, &dropped)?;
                info!(%room, deleted, "retention thinned old versions");
            }
            Ok(Version {
                id,
                at,
                authors: authors.clone(),
                label,
                kind,
                restored_from,
            })
        })
        .await
        .map_err(|join| StoreError::Other(join.to_string()))??;
        info!(room = %parts.room, id = version.id, kind = kind.as_str(), "checkpoint stored");
        Ok(version)
    }

    /// Serves one request of the HTTP API.
    pub(super) async fn handle(&mut self, cmd: HistoryCmd, mut parts: RoomParts<'_>) {
        match cmd {
            HistoryCmd::List { key, reply } => {
                let _ = reply.send(list(&parts, key).await);
            }
            HistoryCmd::Text { key, id, reply } => {
                let _ = reply.send(text(&parts, key, id).await);
            }
            HistoryCmd::Name { key, label, reply } => {
                let named = match may_edit(&parts, key) {
                    Ok(()) => {
                        self.checkpoint(&parts, VersionKind::Named, Some(label), None)
                            .await
                    }
                    Err(err) => Err(err),
                };
                let _ = reply.send(named);
            }
            HistoryCmd::Label {
                key,
                id,
                label,
                reply,
            } => {
                let _ = reply.send(relabel(&parts, key, id, label).await);
            }
            HistoryCmd::Delete { key, id, reply } => {
                let _ = reply.send(delete(&parts, key, id).await);
            }
            HistoryCmd::Restore { key, id, reply } => {
                let restored = self.restore(&mut parts, key, id).await;
                let _ = reply.send(restored);
            }
        }
    }

    /// Checkpoints, splices the current text into version `id`'s, relays
    /// and stores that edit, and checkpoints the result.
    async fn restore(
        &mut self,
        parts: &mut RoomParts<'_>,
        key: Option<Right>,
        id: u64,
    ) -> Result<Version, HistoryError> {
        may_edit(parts, key)?;
        let target = read_version(parts, id).await?;
        self.checkpoint(parts, VersionKind::BeforeRestore, None, None)
            .await?;
        let update = splice(parts.doc, &target);
        if let Some(update) = update {
            if parts.pipeline.size() + update.len() as u64 > parts.max_document_bytes {
                return Err(HistoryError::TooLarge);
            }
            apply_own(parts.doc, &update)?;
            let message = Outbound::sync(&SyncFrame::Update(update.clone()));
            parts.members.relay(SERVER, &message);
            parts.pipeline.push(SERVER, 0, Some(Bytes::from(update)));
        }
        info!(room = %parts.room, id, "restored a version");
        self.checkpoint(parts, VersionKind::Restore, None, Some(id))
            .await
    }
}

/// Whether `key` may read the room.
fn may_read(parts: &RoomParts<'_>, key: Option<Right>) -> Result<(), HistoryError> {
    if access::may_read(key, parts.protected) {
        Ok(())
    } else {
        Err(HistoryError::NoAccess)
    }
}

/// Whether `key` may change the room.
fn may_edit(parts: &RoomParts<'_>, key: Option<Right>) -> Result<(), HistoryError> {
    may_read(parts, key)?;
    if access::read_only(key, parts.protected) {
        Err(HistoryError::ReadOnly)
    } else {
        Ok(())
    }
}

async fn list(parts: &RoomParts<'_>, key: Option<Right>) -> Result<Vec<Version>, HistoryError> {
    may_read(parts, key)?;
    let (store, room) = (parts.store.clone(), parts.room.clone());
    tokio::task::spawn_blocking(move || store.list_versions(&room))
        .await
        .map_err(|join| HistoryError::Store(join.to_string()))?
        .map_err(HistoryError::from)
}

async fn text(
    parts: &RoomParts<'_>,
    key: Option<Right>,
    id: u64,
) -> Result<Exported, HistoryError> {
    may_read(parts, key)?;
    read_version(parts, id).await
}

/// Gives version `id` the label `label`; answers it as now listed.
async fn relabel(
    parts: &RoomParts<'_>,
    key: Option<Right>,
    id: u64,
    label: String,
) -> Result<Version, HistoryError> {
    may_edit(parts, key)?;
    let (store, room) = (parts.store.clone(), parts.room.clone());
    tokio::task::spawn_blocking(move || {
        if !store.label_version(&room, id, Some(&label))? {
            return Err(HistoryError::NotFound);
        }
        store
            .list_versions(&room)?
            .into_iter()
            .find(|v| v.id == id)
            .ok_or(HistoryError::NotFound)
    })
    .await
    .map_err(|join| HistoryError::Store(join.to_string()))?
}

/// Deletes version `id`.
async fn delete(parts: &RoomParts<'_>, key: Option<Right>, id: u64) -> Result<(), HistoryError> {
    may_edit(parts, key)?;
    let (store, room) = (parts.store.clone(), parts.room.clone());
    let deleted = tokio::task::spawn_blocking(move || store.delete_versions(&room, &[id]))
        .await
        .map_err(|join| HistoryError::Store(join.to_string()))??;
    if deleted == 0 {
        Err(HistoryError::NotFound)
    } else {
        info!(room = %parts.room, id, "version deleted");
        Ok(())
    }
}

/// Version `id`'s title and body, read and decoded on a blocking thread.
async fn read_version(parts: &RoomParts<'_>, id: u64) -> Result<Exported, HistoryError> {
    let (store, room) = (parts.store.clone(), parts.room.clone());
    tokio::task::spawn_blocking(move || {
        let state = store
            .version_state(&room, id)?
            .ok_or(HistoryError::NotFound)?;
        decode(&state)
    })
    .await
    .map_err(|join| HistoryError::Store(join.to_string()))?
}

/// The text of an encoded state.
pub fn decode(state: &[u8]) -> Result<Exported, HistoryError> {
    let update = Update::decode_v1(state).map_err(|_| HistoryError::Damaged)?;
    let doc = tandem_shared::doc::new_doc();
    let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        doc.transact_mut().apply_update(update)
    }));
    match applied {
        Ok(Ok(())) => Ok(document::export(&doc)),
        _ => Err(HistoryError::Damaged),
    }
}

/// Applies the server's own update to the live document.
fn apply_own(doc: &Doc, update: &[u8]) -> Result<(), HistoryError> {
    let update = Update::decode_v1(update).map_err(|_| HistoryError::Damaged)?;
    doc.transact_mut()
        .apply_update(update)
        .map_err(|_| HistoryError::Damaged)
}

/// The update that turns `doc`'s title and body into `target`'s through the
/// smallest splice of each, made on a scratch copy so the live document only
/// changes through the ordinary apply path; `None` if they are equal already.
pub fn splice(doc: &Doc, target: &Exported) -> Option<Vec<u8>> {
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
    changed.then(|| scratch.transact().encode_diff_v1(&before))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: u64, at: i64, label: Option<&str>) -> Version {
        Version {
            id,
            at,
            authors: Vec::new(),
            label: label.map(str::to_string),
            kind: VersionKind::Edit,
            restored_from: None,
        }
    }

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;

    #[test]
    fn retention_keeps_a_day_then_hourly_then_daily_and_every_named_one() {
        let now = 100 * DAY;
        let policy = HistoryPolicy::default();
        let versions = vec![
            // Within the day: all kept.
            version(1, now - 5 * MIN, None),
            version(2, now - 10 * MIN, None),
            // Two days ago, same hour: the newer stays.
            version(3, now - 2 * DAY + 20 * MIN, None),
            version(4, now - 2 * DAY + 10 * MIN, None),
            // ...and a named one in that hour is never dropped.
            version(5, now - 2 * DAY + 5 * MIN, Some("Draft sent to Ana")),
            // Forty days ago, same day, different hours: only the newest stays.
            version(6, now - 40 * DAY + 5 * HOUR, None),
            version(7, now - 40 * DAY + 2 * HOUR, None),
            version(8, now - 40 * DAY + HOUR, Some("old but named")),
        ];
        let mut dropped = thin(&versions, now, &policy);
        dropped.sort_unstable();
        assert_eq!(dropped, vec![4, 7]);
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
        let update = splice(&doc, &target).expect("a change");
        apply_own(&doc, &update).expect("applies");
        assert_eq!(document::export(&doc), target);
        assert_eq!(splice(&doc, &target), None, "nothing left to change");
    }
}
