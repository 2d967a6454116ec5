//! The version history as the HTTP API asks for it (`crate::api`): the
//! requests a room's actor answers ([`HistoryCmd`]), why one is refused
//! ([`HistoryError`], which the API turns into a status), who may do what,
//! and the API's view of a stored version ([`entry`]).

use tandem_shared::history::VersionEntry;
use tokio::sync::oneshot;

use crate::access::{self, Right};
use crate::room::document::Exported;
use crate::store::{StoreError, Version};

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
    /// Who wrote what in one version's body (issue 28): its runs under the
    /// room's authorship.
    Authors {
        /// The right of the requester's key, if any.
        key: Option<Right>,
        /// The version.
        id: u64,
        /// Its runs and the room's authors, or why not.
        reply: oneshot::Sender<Result<tandem_shared::authors::AuthorsExport, HistoryError>>,
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

/// Whether `key` may read a room (`protected` or not).
pub(crate) fn may_read(key: Option<Right>, protected: bool) -> Result<(), HistoryError> {
    if access::may_read(key, protected) {
        Ok(())
    } else {
        Err(HistoryError::NoAccess)
    }
}

/// Whether `key` may change a room (`protected` or not).
pub(crate) fn may_edit(key: Option<Right>, protected: bool) -> Result<(), HistoryError> {
    may_read(key, protected)?;
    if access::read_only(key, protected) {
        Err(HistoryError::ReadOnly)
    } else {
        Ok(())
    }
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
        changes: version.changes.clone(),
    }
}
