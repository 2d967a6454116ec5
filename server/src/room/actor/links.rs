//! The room actor's side of share links (`crate::links`): the room keeps
//! its links as they stand, admits each connection with the right its link
//! grants now, and when the links change (an editor's change through the
//! API, on this node or another) or a link a member holds expires, brings
//! every member in line at once: closed with
//! [`CloseCode::AccessRevoked`] when its link was revoked or expired,
//! narrowed to view-only or widened to editing in place, with an
//! `access_changed` frame saying so.
//!
//! A change is never applied from the message that announced it: the room
//! reads its links again from the store, which every node writes in one
//! transaction per change, so announcements that arrive out of order, twice
//! or not at all (a resync reads them again too) still leave the room with
//! what is stored. Reading is a store call, so it runs on a blocking thread
//! and its result is one more event of the actor's loop; a change announced
//! while a read is in flight is read again after it.

use tandem_shared::close::{Close, CloseCode};
use tandem_shared::comments::CommentRefusal;
use tandem_shared::{ClientId, ErrorCode, ServerMsg, SyncFrame};
use tracing::{error, info};
use yrs::{ReadTxn, Transact};

use super::RoomActor;
use crate::access;
use crate::links::{self, LinkId, Right, Verdict};
use crate::room::command::JoinRefused;
use crate::room::dialect::Dialect;
use crate::room::link_table::{WaitingJoin, instant_of, read};
use crate::room::recipient::Outbound;
use crate::store::{RoomLinks, StoreError};

/// What an `access_changed` says to a member made view-only.
const NARROWED: &str = "an editor made this link view-only";
/// What it says to a member made an editor.
const WIDENED: &str = "an editor let this link edit";
/// What an update from a member made view-only is refused with.
const REFUSED: &str = "this link is view-only now; the update was not applied";
/// What an `access_changed` says to a member whose link now only comments.
const COMMENTING: &str = "an editor made this link comment-only";
/// What an update from a comment-only member that changes more than the
/// comments (or hangs on changes the room does not have) is refused with.
const COMMENT_ONLY: &str = "this link may only comment; the update was not applied";

impl RoomActor {
    /// The links as loaded with the room.
    pub(super) fn links_loaded(&mut self, stored: RoomLinks) {
        self.links.links = links::standing(stored.links);
    }

    /// The right a connection admitted with `link` holds, or why it may
    /// not join. Without a link (no key), the room decides (see
    /// [`access::read_only`]).
    pub(super) fn admission(&mut self, link: Option<&LinkId>) -> Result<Right, JoinRefused> {
        let Some(id) = link else {
            return Ok(if access::read_only(None, self.protected) {
                Right::View
            } else {
                Right::Edit
            });
        };
        let now = links::now_ms();
        let grant = links::grant_of(&self.links.links, id, now).map_err(JoinRefused::Link)?;
        if let Some(at) = grant.expires_at {
            let due = instant_of(at, now);
            if self.links.next_expiry.is_none_or(|next| due < next) {
                self.links.next_expiry = Some(due);
            }
        }
        Ok(grant.right)
    }

    /// Holds a join whose link this copy does not know until the links
    /// are read again: it may have been created since they were read.
    pub(super) fn wait_for_links(&mut self, join: WaitingJoin) {
        self.links.waiting.push(join);
        self.read_links();
    }

    /// The room's links changed in the store: read them again (after the
    /// read in flight, if any).
    pub(super) fn read_links(&mut self) {
        if self.links.reading.is_some() {
            self.links.again = true;
            return;
        }
        let (store, room) = (self.context.store.clone(), self.room.clone());
        self.links.reading = Some(tokio::spawn(read(store, room)));
    }

    /// A read finished: the room now has these links, and its members follow.
    pub(super) fn links_read(&mut self, read: Result<RoomLinks, StoreError>) {
        match read {
            Ok(stored) => {
                self.links.links = links::standing(stored.links);
                self.reconcile_links();
            }
            // The room keeps what it had; the next change or resync reads
            // again. Joins waiting for this read are told to try again.
            Err(err) => {
                error!(room = %self.room, error = %err, "could not read the room's links");
                for join in std::mem::take(&mut self.links.waiting) {
                    let _ = join.joined.send(Err(JoinRefused::Gone));
                }
            }
        }
        if std::mem::take(&mut self.links.again) {
            self.read_links();
            return;
        }
        // A read that started after every waiting join came: what it did
        // not find does not exist.
        for join in std::mem::take(&mut self.links.waiting) {
            let joined = self.join(
                join.client,
                join.recipient,
                Some(join.link),
                join.dialect,
                join.identity,
            );
            let _ = join.joined.send(joined);
        }
    }

    /// Brings every member admitted with a link in line with the links as
    /// they stand now: closes those whose link is gone, narrows or widens
    /// those whose link's right changed; then sets the next expiry.
    pub(super) fn reconcile_links(&mut self) {
        let now = links::now_ms();
        for (client, id, held) in self.members.linked() {
            match links::verdict(&self.links.links, &id, held, now) {
                Verdict::Keep => {}
                Verdict::Close(refusal) => {
                    info!(room = %self.room, %client, link = %id, %refusal, "closing: link gone");
                    let close = Close::new(CloseCode::AccessRevoked, refusal.to_string());
                    // Other nodes forget them too: once closed here, the
                    // connection's own leave finds no member to announce.
                    self.publish_presence(client, None);
                    self.members.close(client, close);
                }
                Verdict::Narrow(right) => self.change_access(client, right),
                Verdict::Widen => self.change_access(client, Right::Edit),
            }
        }
        self.links.next_expiry =
            links::next_expiry(&self.links.links, self.members.links_in_use(), now)
                .map(|at| instant_of(at, now));
    }

    /// Gives `client` the right `right` in place (view-only, comment-only
    /// or editing), and tells it.
    fn change_access(&mut self, client: ClientId, right: Right) {
        let Some(dialect) = self.members.set_right(client, right) else {
            return;
        };
        let read_only = right.read_only();
        info!(room = %self.room, %client, %right, "link changed: access changed in place");
        if dialect == Dialect::Tandem {
            let share = (self.protected && !read_only)
                .then(|| {
                    links::share_keys(
                        &self.context.keys,
                        &self.room,
                        &self.links.links,
                        links::now_ms(),
                    )
                })
                .flatten();
            let reason = match right {
                Right::Edit => WIDENED,
                Right::Comment => COMMENTING,
                Right::View => NARROWED,
            };
            let changed = ServerMsg::AccessChanged {
                read_only,
                share,
                reason: reason.to_owned(),
            };
            self.members.send(client, Outbound::json(&changed));
        }
        if !read_only {
            // An editor answers a step 1 with its step 2: what it wrote while
            // it could not send reaches the room now.
            let step1 = SyncFrame::Step1(self.doc.transact().state_vector());
            self.members.send(client, Outbound::sync(&step1));
        }
    }

    /// Refuses an update from `client`, made view-only while open: it is
    /// not applied, stored or relayed, but counted, so the `saved` counts
    /// stay in step with what it sent; a Tandem client is told which.
    pub(super) fn refuse_narrowed(&mut self, client: ClientId) {
        self.refuse_update(client, ErrorCode::ReadOnly, REFUSED);
    }

    /// Refuses an update from `client`, which may only comment, that
    /// changes more than the comments: as [`Self::refuse_narrowed`], with
    /// the `comment_only` code.
    pub(super) fn refuse_comment(&mut self, client: ClientId, refusal: &CommentRefusal) {
        info!(room = %self.room, %client, %refusal, "refused a comment link's update");
        self.refuse_update(client, ErrorCode::CommentOnly, COMMENT_ONLY);
    }

    fn refuse_update(&mut self, client: ClientId, code: ErrorCode, reason: &str) {
        let Some(seq) = self.members.count_update(client) else {
            return;
        };
        self.pipeline.push(client, seq, None);
        if self.members.dialect(client) == Some(Dialect::Tandem) {
            let refused = ServerMsg::Error {
                code,
                reason: reason.to_owned(),
            };
            self.members.send(client, Outbound::json(&refused));
        }
    }
}
