//! The page side of presence: turns this person's name, colour and body
//! selection into a [`Presence`] and hands it to the connection's presence
//! inbox; the connection coalesces and sends it. Called on every caret move,
//! focus change and name change; cheap enough for that (two sticky indexes).
//!
//! It holds the inbox's sending half rather than the connection itself, so
//! presence does not depend on `net` (which depends on presence for the
//! throttle and the table).

use std::rc::Rc;

use futures_channel::mpsc::UnboundedSender;
use leptos::prelude::{RwSignal, WithUntracked};
use tandem_shared::Presence;

use super::Identity;
use crate::editor::SharedDoc;

/// Reports presence changes; cheap to clone.
#[derive(Clone)]
pub(crate) struct PresenceReporter {
    /// The connection's presence inbox. Unbounded like the outgoing updates:
    /// the connection drains it at once and keeps only the latest.
    inbox: UnboundedSender<Presence>,
    /// The name and colour to report.
    identity: RwSignal<Identity>,
    /// Where the caret is, and whether an IME composition is in progress.
    doc: Rc<SharedDoc>,
}

impl std::fmt::Debug for PresenceReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresenceReporter").finish_non_exhaustive()
    }
}

impl PresenceReporter {
    pub(crate) fn new(
        inbox: UnboundedSender<Presence>,
        identity: RwSignal<Identity>,
        doc: Rc<SharedDoc>,
    ) -> Self {
        Self {
            inbox,
            identity,
            doc,
        }
    }

    /// Reports the current presence: the cursor while the body has focus,
    /// `null` otherwise.
    pub(crate) fn report(&self) {
        // During an IME composition the field holds text the document does
        // not: offsets would point at the wrong characters. The end of the
        // composition reports again.
        if self.doc.is_composing() {
            return;
        }
        let cursor = if self.doc.content_focused() {
            self.doc.cursor()
        } else {
            None
        };
        // In the colour the room gave this page, once it did.
        let color = self.doc.room_color();
        let presence = self.identity.with_untracked(|identity| Presence {
            name: identity.name.clone(),
            color: color.unwrap_or_else(|| identity.color().to_owned()),
            cursor,
        });
        // A closed inbox means the connection ended with the page.
        let _ = self.inbox.unbounded_send(presence);
    }
}
