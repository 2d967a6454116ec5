//! Share links as records: what a key grants now, and the changes editors
//! make to a room's links, as pure functions over the room's list of links
//! (no I/O: the store runs them inside its transaction, the room's actor
//! runs them against the copy it keeps).
//!
//! A protected room's links are [`Link`] records in the store. Until its
//! links are first changed it has none stored, and the two links every
//! protected room starts with stand for them: `e` (edit) and `v` (view),
//! whose keys are the `e.…`/`v.…` keys handed out before links were records
//! ([`standing`]). The first change of any kind (a new link, a label, a
//! right, an expiry, a revocation) writes those two down as records in the
//! same transaction ([`materialise`]), so from then on they can be narrowed
//! or revoked like any other and their keys keep working until they are.
//!
//! A key is checked in two steps: its tag against the server's secret
//! ([`Keys::authenticate`], constant time), then its link's record
//! ([`resolve`]): a revoked or expired link, or an authentic key whose link
//! the room does not have (the room was deleted and its name used again),
//! grants nothing.
//!
//! Every change keeps one rule: a protected room always has an active edit
//! link that never expires, so its editors can never lock themselves out
//! (a change that would break it is refused with [`LinkError::LastEditLink`]).

use tandem_shared::links::{LinkEntry, LinkPatch, LinkState, NewLink};
use tandem_shared::{RoomId, ShareKeys};

pub use tandem_shared::links::{LinkId, Right};

use crate::access::Keys;

/// Most links a room may have that still work (active).
pub const MAX_ACTIVE: usize = 100;
/// Most link records a room keeps, revoked and expired ones included.
pub const MAX_RECORDS: usize = 1_000;

/// One share link, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Its id, the first part of its key.
    pub id: LinkId,
    /// What it grants now; a change reaches the connections it admitted.
    pub right: Right,
    /// A name an editor gave it.
    pub label: Option<String>,
    /// The name its creator gave in the editor; `None` for the originals.
    pub created_by: Option<String>,
    /// When it was created (Unix ms); `None` for the originals, which came
    /// with the room at a time the store did not record for them.
    pub created_at: Option<i64>,
    /// When its key stops working (Unix ms); `None`: never.
    pub expires_at: Option<i64>,
    /// When an editor revoked it (Unix ms); a revoked link stays listed.
    pub revoked_at: Option<i64>,
}

impl Link {
    /// The original link granting `right`, as it stands before the room's
    /// links are first changed.
    pub fn original(right: Right) -> Self {
        Self {
            id: LinkId::original(right),
            right,
            label: None,
            created_by: None,
            created_at: None,
            expires_at: None,
            revoked_at: None,
        }
    }

    /// Where it stands at `now` (Unix ms).
    pub fn state(&self, now: i64) -> LinkState {
        if self.revoked_at.is_some() {
            LinkState::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            LinkState::Expired
        } else {
            LinkState::Active
        }
    }

    /// The link as the API shows it, with its key while it works.
    pub fn entry(&self, keys: &Keys, room: &RoomId, now: i64) -> LinkEntry {
        let state = self.state(now);
        LinkEntry {
            id: self.id.clone(),
            right: self.right,
            label: self.label.clone(),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            state,
            key: (state == LinkState::Active).then(|| keys.key_of(room, &self.id)),
        }
    }

    /// Whether it is an active edit link that never expires: what the
    /// rule of the module doc keeps at least one of.
    fn lasting_edit(&self, now: i64) -> bool {
        self.right == Right::Edit
            && self.expires_at.is_none()
            && self.state(now) == LinkState::Active
    }
}

/// The links that stand for a room whose stored links are `stored`: those,
/// or the two originals while none is stored.
pub fn standing(stored: Vec<Link>) -> Vec<Link> {
    if stored.is_empty() {
        [Right::Edit, Right::View]
            .into_iter()
            .map(Link::original)
            .collect()
    } else {
        stored
    }
}

/// Writes the two originals down as records if the room has none stored:
/// the first change of a room's links does this in its transaction.
pub fn materialise(links: &mut Vec<Link>) {
    if links.is_empty() {
        *links = standing(Vec::new());
    }
}

/// What an authentic key grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The link it names.
    pub link: LinkId,
    /// What that link grants now.
    pub right: Right,
    /// When it stops working (Unix ms), if it does.
    pub expires_at: Option<i64>,
}

/// Why a key grants nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefusal {
    /// Not a key of this room: its tag is not the server's.
    #[error("this link's key is not valid for this document")]
    Invalid,
    /// An editor revoked its link.
    #[error("this link was revoked")]
    Revoked,
    /// Its link's expiry passed.
    #[error("this link has expired")]
    Expired,
    /// Authentic, but the room has no such link (it was deleted, and its
    /// name used again since).
    #[error("this link no longer exists")]
    Unknown,
}

impl KeyRefusal {
    /// Whether the key was once good: its link is gone rather than never
    /// having been this room's (the page then says "This link no longer
    /// works" instead of "not valid").
    pub fn link_gone(self) -> bool {
        self != Self::Invalid
    }
}

/// What `key` grants in `room` at `now`, given the links that stand for
/// the room ([`standing`]).
pub fn resolve(
    keys: &Keys,
    room: &RoomId,
    key: &str,
    links: &[Link],
    now: i64,
) -> Result<Grant, KeyRefusal> {
    let id = keys.authenticate(room, key).ok_or(KeyRefusal::Invalid)?;
    grant_of(links, &id, now)
}

/// What link `id` grants at `now` among `links` (see [`resolve`]); the
/// room's actor asks this again of every connection when links change.
pub fn grant_of(links: &[Link], id: &LinkId, now: i64) -> Result<Grant, KeyRefusal> {
    let link = links
        .iter()
        .find(|link| &link.id == id)
        .ok_or(KeyRefusal::Unknown)?;
    match link.state(now) {
        LinkState::Revoked => Err(KeyRefusal::Revoked),
        LinkState::Expired => Err(KeyRefusal::Expired),
        LinkState::Active => Ok(Grant {
            link: link.id.clone(),
            right: link.right,
            expires_at: link.expires_at,
        }),
    }
}

/// The next moment after `now` at which one of `ids` expires, if any: when
/// the room's actor must look at its connections again.
pub fn next_expiry<'a>(
    links: &[Link],
    ids: impl IntoIterator<Item = &'a LinkId>,
    now: i64,
) -> Option<i64> {
    ids.into_iter()
        .filter_map(|id| links.iter().find(|link| &link.id == id))
        .filter(|link| link.revoked_at.is_none())
        .filter_map(|link| link.expires_at)
        .filter(|&at| at > now)
        .min()
}

/// What becomes of a connection admitted with a link, when the room's
/// links change or time passes ([`verdict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Its rights stand.
    Keep,
    /// Its link no longer grants editing, or its read-only right changed
    /// (view to comment or back): it holds this right from now on.
    Narrow(Right),
    /// Its link grants editing now: it may edit from now on.
    Widen,
    /// Its link was revoked or expired: it is closed.
    Close(KeyRefusal),
}

/// What becomes at `now` of a connection admitted with link `id` that
/// holds right `held`, given the room's links.
pub fn verdict(links: &[Link], id: &LinkId, held: Right, now: i64) -> Verdict {
    match grant_of(links, id, now) {
        Err(refusal) => Verdict::Close(refusal),
        Ok(grant) if grant.right == held => Verdict::Keep,
        Ok(grant) if grant.right.read_only() => Verdict::Narrow(grant.right),
        Ok(_) => Verdict::Widen,
    }
}

/// The keys handed to a protected room's editors in `welcome.share` (and
/// `access_changed`): the pair [`tandem_shared::links::share_pair`] picks
/// (the originals while they stand); `None` if the room has no such pair.
pub fn share_keys(keys: &Keys, room: &RoomId, links: &[Link], now: i64) -> Option<ShareKeys> {
    let (edit, view) = tandem_shared::links::share_pair(links, |link| {
        let active = link.state(now) == LinkState::Active;
        (link.right, active, link.expires_at.is_some())
    })?;
    Some(ShareKeys {
        edit: keys.key_of(room, &edit.id),
        view: keys.key_of(room, &view.id),
    })
}

/// Why a change to a room's links was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The room was opened by name: anyone with the name may edit it, so
    /// it has no links to manage.
    #[error("this document is open to anyone who has its name; it has no links to manage")]
    NotProtected,
    /// No link of the room has this id.
    #[error("no such link")]
    NotFound,
    /// The link was revoked: that is final.
    #[error("this link was revoked; create a new one")]
    Revoked,
    /// The link expired: that is final.
    #[error("this link has expired; create a new one")]
    Expired,
    /// The change would leave no active edit link that never expires.
    #[error(
        "this would leave the document without an edit link that never expires; create one first"
    )]
    LastEditLink,
    /// The room has as many active links, or records, as it may.
    #[error("this document has too many links; revoke some first")]
    TooMany,
}

/// A new link's fields, checked: what [`create`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    /// Its id: fresh random bytes (see [`LinkId::from_random`]).
    pub id: LinkId,
    /// What the editor asked for.
    pub new: NewLink,
}

/// Adds the link `creation` describes to `links` at `now`.
pub fn create(links: &mut Vec<Link>, creation: Creation, now: i64) -> Result<Link, LinkError> {
    materialise(links);
    let active = links
        .iter()
        .filter(|link| link.state(now) == LinkState::Active)
        .count();
    if active >= MAX_ACTIVE || links.len() >= MAX_RECORDS {
        return Err(LinkError::TooMany);
    }
    // Ids are 64 random bits: a repeat is a broken random source, never chance.
    if links.iter().any(|link| link.id == creation.id) {
        return Err(LinkError::TooMany);
    }
    let new = creation.new;
    let link = Link {
        id: creation.id,
        right: new.right,
        label: new.label.map(|label| label.trim().to_owned()),
        created_by: new.created_by.map(|name| name.trim().to_owned()),
        created_at: Some(now),
        expires_at: new.expires_in.map(|secs| expiry(now, secs)),
        revoked_at: None,
    };
    links.push(link.clone());
    Ok(link)
}

/// Applies `patch` (checked) to link `id` at `now`.
pub fn patch(
    links: &mut Vec<Link>,
    id: &LinkId,
    patch: &LinkPatch,
    now: i64,
) -> Result<Link, LinkError> {
    change(links, id, now, |link| {
        if let Some(label) = &patch.label {
            link.label = label.as_ref().map(|label| label.trim().to_owned());
        }
        if let Some(right) = patch.right {
            link.right = right;
        }
        if let Some(expires_in) = patch.expires_in {
            link.expires_at = expires_in.map(|secs| expiry(now, secs));
        }
    })
}

/// Revokes link `id` at `now`.
pub fn revoke(links: &mut Vec<Link>, id: &LinkId, now: i64) -> Result<Link, LinkError> {
    change(links, id, now, |link| link.revoked_at = Some(now))
}

/// Changes link `id` with `apply`, keeping the rule of the module doc.
fn change(
    links: &mut Vec<Link>,
    id: &LinkId,
    now: i64,
    apply: impl FnOnce(&mut Link),
) -> Result<Link, LinkError> {
    materialise(links);
    let at = links
        .iter()
        .position(|link| &link.id == id)
        .ok_or(LinkError::NotFound)?;
    match links[at].state(now) {
        LinkState::Revoked => return Err(LinkError::Revoked),
        LinkState::Expired => return Err(LinkError::Expired),
        LinkState::Active => {}
    }
    let mut changed = links[at].clone();
    apply(&mut changed);
    let lasting = links
        .iter()
        .enumerate()
        .any(|(i, link)| i != at && link.lasting_edit(now));
    if !lasting && !changed.lasting_edit(now) {
        return Err(LinkError::LastEditLink);
    }
    links[at] = changed.clone();
    Ok(changed)
}

/// `now` plus `secs` seconds, in Unix ms.
fn expiry(now: i64, secs: u64) -> i64 {
    now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000))
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn room() -> RoomId {
        RoomId::new("links").expect("room")
    }

    fn keys() -> Keys {
        Keys::from_secret(&"s".repeat(32)).expect("keys")
    }

    fn creation(seed: u8, right: Right, expires_in: Option<u64>) -> Creation {
        Creation {
            id: LinkId::from_random([seed; 8]),
            new: NewLink {
                right,
                label: Some(" Design review ".into()),
                expires_in,
                created_by: Some("Ana".into()),
            },
        }
    }

    fn edit() -> LinkId {
        LinkId::original(Right::Edit)
    }

    fn view() -> LinkId {
        LinkId::original(Right::View)
    }

    #[test]
    fn the_originals_stand_until_links_are_first_changed() {
        let keys = keys();
        let links = standing(Vec::new());
        let edit_key = keys.key_for(&room(), Right::Edit);
        let view_key = keys.key_for(&room(), Right::View);
        assert_eq!(
            resolve(&keys, &room(), &edit_key, &links, NOW).map(|g| g.right),
            Ok(Right::Edit)
        );
        assert_eq!(
            resolve(&keys, &room(), &view_key, &links, NOW).map(|g| g.right),
            Ok(Right::View)
        );
        // The first change writes them down, and their keys keep working.
        let mut stored = Vec::new();
        let made = create(&mut stored, creation(1, Right::View, None), NOW).expect("create");
        let ids: Vec<&str> = stored.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["e", "v", made.id.as_str()]);
        assert_eq!(
            resolve(&keys, &room(), &edit_key, &stored, NOW).map(|g| g.right),
            Ok(Right::Edit)
        );
        assert_eq!(made.label.as_deref(), Some("Design review"), "trimmed");
        let made_key = keys.key_of(&room(), &made.id);
        assert_eq!(
            resolve(&keys, &room(), &made_key, &stored, NOW),
            Ok(Grant {
                link: made.id.clone(),
                right: Right::View,
                expires_at: None
            })
        );
        // A created link's key in a room that never stored it is unknown.
        assert_eq!(
            resolve(&keys, &room(), &made_key, &standing(Vec::new()), NOW),
            Err(KeyRefusal::Unknown)
        );
        assert_eq!(
            resolve(&keys, &room(), "e.forged", &stored, NOW),
            Err(KeyRefusal::Invalid)
        );
    }

    #[test]
    fn revoked_and_expired_links_grant_nothing_and_stay_listed() {
        let keys = keys();
        let mut links = Vec::new();
        let soon = create(&mut links, creation(1, Right::Edit, Some(60)), NOW).expect("create");
        assert_eq!(soon.expires_at, Some(NOW + 60_000));
        let key = keys.key_of(&room(), &soon.id);
        assert!(resolve(&keys, &room(), &key, &links, NOW + 59_999).is_ok());
        assert_eq!(
            resolve(&keys, &room(), &key, &links, NOW + 60_000),
            Err(KeyRefusal::Expired)
        );
        assert_eq!(
            next_expiry(&links, [&soon.id, &view()], NOW),
            Some(NOW + 60_000)
        );
        assert_eq!(next_expiry(&links, [&soon.id], NOW + 60_000), None);

        revoke(&mut links, &view(), NOW).expect("revoke");
        let view_key = keys.key_for(&room(), Right::View);
        assert_eq!(
            resolve(&keys, &room(), &view_key, &links, NOW),
            Err(KeyRefusal::Revoked)
        );
        let listed =
            links
                .iter()
                .find(|l| l.id == view())
                .expect("kept")
                .entry(&keys, &room(), NOW);
        assert_eq!(listed.state, LinkState::Revoked);
        assert_eq!(listed.key, None, "a dead link's key is not handed out");
        // Revocation and expiry are final.
        assert_eq!(revoke(&mut links, &view(), NOW), Err(LinkError::Revoked));
        let relabel = LinkPatch {
            label: Some(Some("again".into())),
            ..LinkPatch::default()
        };
        assert_eq!(
            patch(&mut links, &soon.id, &relabel, NOW + 60_000),
            Err(LinkError::Expired)
        );
        let unknown = LinkId::from_random([9; 8]);
        assert_eq!(revoke(&mut links, &unknown, NOW), Err(LinkError::NotFound));
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let mut links = Vec::new();
        let made = create(&mut links, creation(1, Right::Edit, Some(3_600)), NOW).expect("create");
        let narrowed = patch(
            &mut links,
            &made.id,
            &LinkPatch {
                right: Some(Right::View),
                ..LinkPatch::default()
            },
            NOW + 5,
        )
        .expect("patch");
        assert_eq!(
            (
                narrowed.right,
                narrowed.label.as_deref(),
                narrowed.expires_at
            ),
            (Right::View, Some("Design review"), Some(NOW + 3_600_000))
        );
        let cleared = patch(
            &mut links,
            &made.id,
            &LinkPatch {
                label: Some(None),
                expires_in: Some(None),
                ..LinkPatch::default()
            },
            NOW + 10,
        )
        .expect("patch");
        assert_eq!((cleared.label.as_deref(), cleared.expires_at), (None, None));
        assert_eq!(links.iter().find(|l| l.id == made.id), Some(&cleared));
    }

    #[test]
    fn editors_cannot_lock_themselves_out() {
        let mut links = Vec::new();
        materialise(&mut links);
        let narrow = LinkPatch {
            right: Some(Right::View),
            ..LinkPatch::default()
        };
        let expire = LinkPatch {
            expires_in: Some(Some(60)),
            ..LinkPatch::default()
        };
        assert_eq!(
            revoke(&mut links, &edit(), NOW),
            Err(LinkError::LastEditLink)
        );
        assert_eq!(
            patch(&mut links, &edit(), &narrow, NOW),
            Err(LinkError::LastEditLink)
        );
        assert_eq!(
            patch(&mut links, &edit(), &expire, NOW),
            Err(LinkError::LastEditLink)
        );
        assert!(
            links.iter().all(|l| l.revoked_at.is_none()),
            "nothing changed"
        );
        // An edit link that expires is not enough; one that lasts is.
        create(&mut links, creation(1, Right::Edit, Some(60)), NOW).expect("create");
        assert_eq!(
            revoke(&mut links, &edit(), NOW),
            Err(LinkError::LastEditLink)
        );
        create(&mut links, creation(2, Right::Edit, None), NOW).expect("create");
        revoke(&mut links, &edit(), NOW).expect("now it may go");
        // Narrowing a view link, or relabelling, is always fine.
        patch(&mut links, &view(), &expire, NOW).expect("view links may expire");
    }

    #[test]
    fn a_room_has_a_bounded_number_of_links() {
        let mut links = Vec::new();
        for seed in 0..(MAX_ACTIVE - 2) {
            let mut c = creation(0, Right::View, None);
            c.id = LinkId::from_random((seed as u64 + 1).to_be_bytes());
            create(&mut links, c, NOW).expect("create");
        }
        assert_eq!(
            create(&mut links, creation(200, Right::View, None), NOW),
            Err(LinkError::TooMany)
        );
        let first = links[2].id.clone();
        revoke(&mut links, &first, NOW).expect("revoke");
        create(&mut links, creation(200, Right::View, None), NOW).expect("room again");
        let second = links[3].id.clone();
        revoke(&mut links, &second, NOW).expect("revoke");
        assert_eq!(
            create(&mut links, creation(200, Right::View, None), NOW),
            Err(LinkError::TooMany),
            "a repeated id is refused"
        );
    }

    #[test]
    fn connections_follow_their_links() {
        let mut links = Vec::new();
        let made = create(&mut links, creation(1, Right::Edit, Some(60)), NOW).expect("create");
        assert_eq!(verdict(&links, &made.id, Right::Edit, NOW), Verdict::Keep);
        assert_eq!(verdict(&links, &made.id, Right::View, NOW), Verdict::Widen);
        assert_eq!(
            verdict(&links, &made.id, Right::Comment, NOW),
            Verdict::Widen
        );
        let narrow = LinkPatch {
            right: Some(Right::View),
            ..LinkPatch::default()
        };
        patch(&mut links, &made.id, &narrow, NOW).expect("narrow");
        assert_eq!(
            verdict(&links, &made.id, Right::Edit, NOW),
            Verdict::Narrow(Right::View)
        );
        assert_eq!(
            verdict(&links, &made.id, Right::Comment, NOW),
            Verdict::Narrow(Right::View)
        );
        assert_eq!(verdict(&links, &made.id, Right::View, NOW), Verdict::Keep);
        assert_eq!(
            verdict(&links, &made.id, Right::View, NOW + 60_000),
            Verdict::Close(KeyRefusal::Expired)
        );
        revoke(&mut links, &view(), NOW).expect("revoke");
        assert_eq!(
            verdict(&links, &view(), Right::View, NOW),
            Verdict::Close(KeyRefusal::Revoked)
        );
    }

    #[test]
    fn editors_are_handed_a_lasting_edit_link_and_a_view_link() {
        let keys = keys();
        let mut links = standing(Vec::new());
        let share = share_keys(&keys, &room(), &links, NOW).expect("the originals");
        assert_eq!(share.edit, keys.key_for(&room(), Right::Edit));
        assert_eq!(share.view, keys.key_for(&room(), Right::View));
        // The originals gone, the oldest links of each kind stand in.
        let brief = create(&mut links, creation(1, Right::View, Some(60)), NOW).expect("create");
        let lasting = create(&mut links, creation(2, Right::View, None), NOW).expect("create");
        let editor = create(&mut links, creation(3, Right::Edit, None), NOW).expect("create");
        revoke(&mut links, &view(), NOW).expect("revoke");
        revoke(&mut links, &edit(), NOW).expect("revoke");
        let share = share_keys(&keys, &room(), &links, NOW).expect("a pair");
        assert_eq!(share.edit, keys.key_of(&room(), &editor.id));
        assert_eq!(
            share.view,
            keys.key_of(&room(), &lasting.id),
            "{brief:?} expires"
        );
        revoke(&mut links, &lasting.id, NOW).expect("revoke");
        let share = share_keys(&keys, &room(), &links, NOW).expect("a pair");
        assert_eq!(share.view, keys.key_of(&room(), &brief.id));
        revoke(&mut links, &brief.id, NOW).expect("revoke");
        assert_eq!(
            share_keys(&keys, &room(), &links, NOW),
            None,
            "no view link"
        );
    }

    #[test]
    fn grants_follow_the_record() {
        let mut links = Vec::new();
        let made = create(&mut links, creation(1, Right::Edit, None), NOW).expect("create");
        assert_eq!(
            grant_of(&links, &made.id, NOW).map(|g| g.right),
            Ok(Right::Edit)
        );
        patch(
            &mut links,
            &made.id,
            &LinkPatch {
                right: Some(Right::View),
                ..LinkPatch::default()
            },
            NOW,
        )
        .expect("narrow");
        assert_eq!(
            grant_of(&links, &made.id, NOW).map(|g| g.right),
            Ok(Right::View)
        );
        assert!(KeyRefusal::Revoked.link_gone() && !KeyRefusal::Invalid.link_gone());
    }
}
