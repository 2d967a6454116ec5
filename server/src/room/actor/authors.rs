//! The room actor's side of authorship (see `crate::room::authors`): a
//! change of the room's authorship goes to every Tandem member at once,
//! before the update it attributes, and to the pipeline, which stores it
//! with that update; applied updates are attributed to their writer and
//! their characters counted for the next checkpoint; `GET
//! /api/rooms/{room}/authors` is answered from the document and the table.

use tandem_shared::ClientId;
use tandem_shared::ServerMsg;
use tandem_shared::authors::{AuthorsExport, Authorship, runs_of};
use tandem_shared::doc::CONTENT;

use super::RoomActor;
use crate::access::{self, Right};
use crate::room::document;
use crate::room::recipient::Outbound;

impl RoomActor {
    /// A change of the room's authorship made here: told to every Tandem
    /// member and queued for the store (and, once stored, for other nodes).
    pub(super) fn authors_changed(&mut self, change: Authorship) {
        self.tell_authors(&change);
        self.pipeline.record_authors(change);
    }

    /// Tells every Tandem member what changed in the authorship.
    pub(super) fn tell_authors(&mut self, change: &Authorship) {
        let message = Outbound::json(&ServerMsg::Authors(change.clone()));
        self.members.tell_tandem(&message);
    }

    /// `writer` (a member, or the room's restore) sent an update that
    /// brought new items for `grown`: claims them, and credits the
    /// characters it changed to its author for the next checkpoint.
    pub(super) fn attribute(&mut self, writer: ClientId, grown: &[(u64, u32)]) {
        let (added, removed) = self.authors.counter().take();
        if grown.is_empty() && added == 0 && removed == 0 {
            return;
        }
        if let Some(change) = self.authors.wrote(writer, grown) {
            self.authors_changed(change);
        }
        if let Some(author) = self.authors.author_of(writer) {
            self.history.changed(&author.clone(), added, removed);
        }
    }

    /// Who wrote what in the body, for a requester with `key`.
    pub(super) fn export_authors(&self, key: Option<Right>) -> Option<AuthorsExport> {
        if !access::may_read(key, self.protected) {
            return None;
        }
        let table = self.authors.table();
        let runs = runs_of(&self.doc, CONTENT, table);
        let text = document::export(&self.doc);
        Some(AuthorsExport::new(text.title, text.body, &runs, table))
    }
}
