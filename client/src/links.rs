//! A document's share links as its editors manage them in the Share
//! popover: the links API (`/api/rooms/{room}/links`, see docs/PROTOCOL.md)
//! with the page's key in `Authorization: Bearer`, never in a URL; and how
//! a link reads in the list (its name, what it allows, when it stops
//! working), as plain functions tested without a browser.

use tandem_shared::links::{LinkEntry, LinkId, LinkPatch, LinkState, NewLink, Right};

use tandem_shared::{RoomId, ShareKeys};

use crate::error::ClientError;
use crate::net;

/// Every link of `room`, oldest first.
pub(crate) async fn list(room: &RoomId, key: &str) -> Result<Vec<LinkEntry>, ClientError> {
    let text = request("GET", &format!("/api/rooms/{room}/links"), None, key).await?;
    parse(&text)
}

/// A new link; answers it, with its key.
pub(crate) async fn create(
    room: &RoomId,
    key: &str,
    new: &NewLink,
) -> Result<LinkEntry, ClientError> {
    let body = serde_json::to_string(new).map_err(|e| ClientError::BadResponse(e.to_string()))?;
    let text = request(
        "POST",
        &format!("/api/rooms/{room}/links"),
        Some(&body),
        key,
    )
    .await?;
    parse(&text)
}

/// Changes link `id`; answers it as changed.
pub(crate) async fn change(
    room: &RoomId,
    key: &str,
    id: &LinkId,
    patch: &LinkPatch,
) -> Result<LinkEntry, ClientError> {
    let body = serde_json::to_string(patch).map_err(|e| ClientError::BadResponse(e.to_string()))?;
    let text = request(
        "PATCH",
        &format!("/api/rooms/{room}/links/{id}"),
        Some(&body),
        key,
    )
    .await?;
    parse(&text)
}

/// Revokes link `id`.
pub(crate) async fn revoke(room: &RoomId, key: &str, id: &LinkId) -> Result<(), ClientError> {
    request(
        "DELETE",
        &format!("/api/rooms/{room}/links/{id}"),
        None,
        key,
    )
    .await
    .map(drop)
}

async fn request(
    method: &str,
    url: &str,
    json_body: Option<&str>,
    key: &str,
) -> Result<String, ClientError> {
    let response = net::fetch(method, url, json_body, Some(key)).await?;
    net::read_text(&response).await
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ClientError> {
    serde_json::from_str(text).map_err(|e| ClientError::BadResponse(e.to_string()))
}

/// The quick edit and view links of the Share popover from the room's
/// links as listed: the pair the server hands out in `welcome.share`
/// ([`share_pair`](tandem_shared::links::share_pair)), so a link revoked
/// from the list leaves the quick fields at once.
pub(crate) fn share_keys(links: &[LinkEntry]) -> Option<ShareKeys> {
    let (edit, view) = tandem_shared::links::share_pair(links, |link| {
        let active = link.state == LinkState::Active && link.key.is_some();
        (link.right, active, link.expires_at.is_some())
    })?;
    Some(ShareKeys {
        edit: edit.key.clone()?,
        view: view.key.clone()?,
    })
}

/// What the list calls `link`: its label, or what it is.
pub(crate) fn name(link: &LinkEntry) -> String {
    if let Some(label) = &link.label {
        return label.clone();
    }
    match link.id.as_str() {
        "e" => "Original edit link".to_owned(),
        "v" => "Original view-only link".to_owned(),
        _ => match link.right {
            Right::Edit => "Edit link".to_owned(),
            Right::Comment => "Comment link".to_owned(),
            Right::View => "View-only link".to_owned(),
        },
    }
}

/// The line under a link's name: when it stops (or stopped) working and
/// who made it, `now` in Unix milliseconds.
pub(crate) fn details(link: &LinkEntry, now: i64) -> String {
    let state = match link.state {
        LinkState::Active => tandem_shared::links::describe_expiry(link.expires_at, now),
        LinkState::Expired => "expired".to_owned(),
        LinkState::Revoked => "revoked".to_owned(),
    };
    match (&link.created_by, link.id.is_original()) {
        (_, true) => format!("{state} · came with the document"),
        (Some(by), false) => format!("{state} · made by {by}"),
        (None, false) => state,
    }
}

/// Links that still work first (oldest first), then the others (most
/// recently ended first): what the list shows, in its order.
pub(crate) fn ordered(mut links: Vec<LinkEntry>) -> Vec<LinkEntry> {
    let ended_at = |l: &LinkEntry| l.revoked_at.or(l.expires_at).unwrap_or(0);
    let mut ended: Vec<LinkEntry> = Vec::new();
    links.retain(|l| {
        if l.state == LinkState::Active {
            true
        } else {
            ended.push(l.clone());
            false
        }
    });
    ended.sort_by_key(|l| std::cmp::Reverse(ended_at(l)));
    links.extend(ended);
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, right: Right, state: LinkState) -> LinkEntry {
        LinkEntry {
            id: LinkId::new(id).expect("id"),
            right,
            label: None,
            created_by: None,
            created_at: None,
            expires_at: None,
            revoked_at: None,
            state,
            key: None,
        }
    }

    #[test]
    fn links_are_named_by_label_or_by_what_they_are() {
        let mut review = entry("AAAAAAAAAAA", Right::Edit, LinkState::Active);
        assert_eq!(name(&review), "Edit link");
        review.label = Some("Design review".into());
        assert_eq!(name(&review), "Design review");
        assert_eq!(
            name(&entry("v", Right::View, LinkState::Active)),
            "Original view-only link"
        );
        assert_eq!(
            name(&entry("BBBBBBBBBBB", Right::View, LinkState::Active)),
            "View-only link"
        );
    }

    #[test]
    fn details_say_when_and_who() {
        let now = 1_000_000_000;
        let mut link = entry("AAAAAAAAAAA", Right::Edit, LinkState::Active);
        link.expires_at = Some(now + 3_600_000);
        link.created_by = Some("Ana".into());
        assert_eq!(details(&link, now), "expires in 1 hour · made by Ana");
        link.state = LinkState::Revoked;
        assert_eq!(details(&link, now), "revoked · made by Ana");
        assert_eq!(
            details(&entry("e", Right::Edit, LinkState::Active), now),
            "never expires · came with the document"
        );
    }

    #[test]
    fn the_quick_links_are_the_servers_pair() {
        let mut links = vec![
            entry("e", Right::Edit, LinkState::Active),
            entry("v", Right::View, LinkState::Active),
        ];
        for link in &mut links {
            link.key = Some(format!("{}.tag", link.id));
        }
        let share = share_keys(&links).expect("a pair");
        assert_eq!(
            (share.edit.as_str(), share.view.as_str()),
            ("e.tag", "v.tag")
        );
        links[1].state = LinkState::Revoked;
        links[1].key = None;
        assert_eq!(share_keys(&links), None, "no view link left");
    }

    #[test]
    fn working_links_come_first() {
        let mut old = entry("AAAAAAAAAAA", Right::View, LinkState::Revoked);
        old.revoked_at = Some(10);
        let mut recent = entry("BBBBBBBBBBB", Right::View, LinkState::Expired);
        recent.expires_at = Some(20);
        let links = vec![
            entry("e", Right::Edit, LinkState::Active),
            old,
            entry("v", Right::View, LinkState::Active),
            recent,
        ];
        let ids: Vec<String> = ordered(links)
            .into_iter()
            .map(|l| l.id.to_string())
            .collect();
        assert_eq!(ids, ["e", "v", "BBBBBBBBBBB", "AAAAAAAAAAA"]);
    }
}
