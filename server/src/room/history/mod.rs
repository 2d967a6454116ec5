//! A room's version history, as sans-I/O parts beside the actor's store
//! pipeline: they decide what to store and what to answer; the pipeline
//! runs the store work ([`HistoryJob`]) on a blocking thread, one operation
//! at a time with the room's commits, so nothing in the room's loop waits
//! for the store.
//!
//! Checkpoints are taken after a stretch of editing (the first edit since
//! the previous checkpoint starts a timer of [`HistoryPolicy::interval`]),
//! when the room unloads or the server stops with edits not yet
//! checkpointed, when a person names the current state, and on both sides of
//! every restore. Each one stores the whole encoded state beside the log
//! (compaction never touches it) and then applies [`thin`] to the room's
//! versions.
//!
//! A restore does not rewind the CRDT: the actor computes the smallest
//! splice from the current text to the old one ([`splice`]) and applies it
//! as the server's own update through the same path as a member's (size
//! check, relay, store), so open clients converge live and offline ones
//! merge later. It takes three steps, each a pipeline job: read the old
//! version; store a checkpoint of the current state (the splice is made
//! from that same state); apply the splice and store the checkpoint after
//! it, which answers the request. Edits typed meanwhile are concurrent with
//! the splice and survive it, as a remote client's restore would leave
//! them; the checkpoint before makes the restore itself undoable.
//!
//! | file | concept |
//! |---|---|
//! | `policy` | [`HistoryPolicy`]: when checkpoints are taken and how long they are kept; its defaults |
//! | `retention` | [`thin`]: which old checkpoints retention drops |
//! | `checkpoints` | the actor's record of what changed since the last checkpoint and whom it credits; the [`Checkpoint`] to store |
//! | `request` | the HTTP API's requests ([`HistoryCmd`]), its refusals ([`HistoryError`]) and its view of a version ([`entry`]) |
//! | `jobs` | the store work of each request and checkpoint ([`HistoryJob`]), run by the pipeline; what it hands back ([`JobDone`]) |
//! | `restore` | the yrs side: a version's text ([`decode`]), the splice to it ([`splice`]) |

mod checkpoints;
mod jobs;
mod policy;
mod request;
mod restore;
mod retention;

pub(super) use checkpoints::Checkpoints;
pub use checkpoints::{ANONYMOUS, Checkpoint};
pub(crate) use jobs::{AfterCheckpoint, HistoryJob, JobDone};
pub use policy::{DEFAULT_INTERVAL, DEFAULT_KEEP_ALL, DEFAULT_KEEP_HOURLY, HistoryPolicy};
pub(crate) use request::HistoryCmd;
pub use request::{HistoryError, entry};
pub(super) use request::{may_edit, may_read};
pub use restore::{decode, decode_restore, splice};
pub use retention::thin;
