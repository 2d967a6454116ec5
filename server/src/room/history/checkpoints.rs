//! What a room's actor keeps for its next checkpoint: since when the
//! document has changed, who changed it and under which names, and when the
//! periodic checkpoint is due. Taking a checkpoint ([`Checkpoints::take`])
//! encodes the document and clears the record; storing it is a pipeline job.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use tandem_shared::ClientId;
use tandem_shared::authors::AuthorId;
use tandem_shared::history::{AuthorChange, count_change};
use tokio::time::Instant;
use yrs::{Doc, ReadTxn, StateVector, Transact};

use super::policy::HistoryPolicy;
use crate::store::{NewVersion, VersionKind};

/// Name credited for edits by someone who gave no name.
pub const ANONYMOUS: &str = "Anonymous";

/// A version to store: the whole document state and what it says about
/// itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// When it was taken, in Unix milliseconds.
    pub at: i64,
    /// Who edited since the previous checkpoint, by the names they gave.
    pub authors: Vec<String>,
    /// A name a person gave it.
    pub label: Option<String>,
    /// Why it was taken.
    pub kind: VersionKind,
    /// For a restore: the version whose text was brought back.
    pub restored_from: Option<u64>,
    /// Who changed what since the previous checkpoint, by author.
    pub changes: Vec<AuthorChange>,
    /// The document's state as one v1 update.
    pub state: Vec<u8>,
}

impl Checkpoint {
    /// As the store takes it.
    pub fn as_new(&self) -> NewVersion<'_> {
        NewVersion {
            at: self.at,
            authors: &self.authors,
            label: self.label.as_deref(),
            kind: self.kind,
            restored_from: self.restored_from,
            changes: &self.changes,
            state: &self.state,
        }
    }
}

/// A room's checkpoint state, owned by its actor.
#[derive(Debug)]
pub(crate) struct Checkpoints {
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
    /// Characters each author added and removed since the previous
    /// checkpoint (see `crate::room::authors`).
    changes: Vec<AuthorChange>,
}

impl Checkpoints {
    /// Nothing to checkpoint yet.
    pub(crate) fn new(policy: HistoryPolicy) -> Self {
        Self {
            policy,
            dirty_since: None,
            editors: Vec::new(),
            names: HashMap::new(),
            changes: Vec::new(),
        }
    }

    /// The policy checkpoints follow (retention applies it when storing).
    pub(crate) fn policy(&self) -> HistoryPolicy {
        self.policy
    }

    /// `client` changed the document.
    pub(crate) fn edited(&mut self, client: ClientId) {
        self.dirty_since.get_or_insert_with(Instant::now);
        if !self.editors.contains(&client) {
            self.editors.push(client);
        }
    }

    /// `author` added and removed these many characters (UTF-16 units).
    pub(crate) fn changed(&mut self, author: &AuthorId, added: u64, removed: u64) {
        count_change(&mut self.changes, author, added, removed);
    }

    /// `client` gave (or cleared) its name.
    pub(crate) fn named(&mut self, client: ClientId, name: Option<&str>) {
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
    pub(crate) fn left(&mut self, client: ClientId) {
        if !self.editors.contains(&client) {
            self.names.remove(&client);
        }
    }

    /// Whether anything changed since the previous checkpoint.
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty_since.is_some()
    }

    /// When the periodic checkpoint is due, if anything changed.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.dirty_since.map(|since| since + self.policy.interval)
    }

    /// A checkpoint of `doc` crediting the editors since the previous one,
    /// which it clears; names of people no longer `present` are forgotten.
    pub(crate) fn take(
        &mut self,
        doc: &Doc,
        kind: VersionKind,
        label: Option<String>,
        restored_from: Option<u64>,
        present: impl Fn(ClientId) -> bool,
    ) -> Checkpoint {
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
        self.names.retain(|client, _| present(*client));
        self.dirty_since = None;
        Checkpoint {
            at: now_ms(),
            authors,
            label,
            kind,
            restored_from,
            changes: std::mem::take(&mut self.changes),
            state: doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default()),
        }
    }
}

/// Now, in Unix milliseconds.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_credits_each_editor_once_by_name_and_clears_the_record() {
        let mut checkpoints = Checkpoints::new(HistoryPolicy::default());
        assert!(!checkpoints.is_dirty() && checkpoints.due().is_none());
        checkpoints.named(ClientId(1), Some("Ana"));
        checkpoints.edited(ClientId(1));
        checkpoints.edited(ClientId(2));
        checkpoints.edited(ClientId(1));
        // Ana leaves before the checkpoint: she is still credited.
        checkpoints.named(ClientId(1), None);
        checkpoints.left(ClientId(1));
        assert!(checkpoints.due().is_some());
        let doc = tandem_shared::doc::new_doc();
        let taken = checkpoints.take(&doc, VersionKind::Edit, None, None, |_| false);
        assert_eq!(taken.authors, ["Ana", ANONYMOUS]);
        assert!(taken.changes.is_empty(), "nobody's characters were counted");
        assert!(!checkpoints.is_dirty(), "cleared");
        checkpoints.edited(ClientId(1));
        let ada = AuthorId::new("p-ada").expect("id");
        checkpoints.changed(&ada, 4, 1);
        checkpoints.changed(&ada, 2, 0);
        let next = checkpoints.take(&doc, VersionKind::Idle, None, None, |_| false);
        assert_eq!(next.authors, [ANONYMOUS], "her name went with the credit");
        assert_eq!(
            next.changes,
            [AuthorChange {
                author: ada,
                added: 6,
                removed: 1
            }]
        );
        let last = checkpoints.take(&doc, VersionKind::Idle, None, None, |_| false);
        assert!(last.changes.is_empty(), "counted once");
    }
}
