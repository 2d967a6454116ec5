//! The "Recent documents" list on the home page, kept in `localStorage`
//! (newest first, one entry per room) and updated whenever a document is
//! opened or its title changes. Each entry remembers the share key the room
//! was last opened with, so reopening it from the list keeps the rights.

use serde::{Deserialize, Serialize};

use crate::storage;

/// How many documents the list remembers.
const MAX_ENTRIES: usize = 12;

/// One remembered document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecentDoc {
    /// The room name; the link is `/d/{room}`.
    pub(crate) room: String,
    /// The title last seen, empty when the document has none.
    pub(crate) title: String,
    /// When the document was last open, in milliseconds since the Unix epoch.
    pub(crate) opened_ms: f64,
    /// The share key the server accepted for this room (`e.…` or `v.…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<String>,
}

impl RecentDoc {
    /// The link that reopens the document with the same rights.
    pub(crate) fn path(&self) -> String {
        match tandem_shared::RoomId::new(self.room.as_str()) {
            Ok(room) => room.page_path(self.key.as_deref()),
            // Stored by hand or by an older version: let the editor route refuse it.
            Err(_) => format!("/d/{}", self.room),
        }
    }
}

/// The remembered documents, newest first. Unreadable storage reads as empty.
pub(crate) fn load() -> Vec<RecentDoc> {
    storage::get(storage::RECENT_KEY)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Records that `room` is open now with `title`, and with `key` once the
/// server accepted it (without one, a key remembered earlier is kept).
pub(crate) fn remember(room: &str, title: &str, key: Option<&str>) {
    let entry = RecentDoc {
        room: room.to_owned(),
        title: title.to_owned(),
        opened_ms: js_sys::Date::now(),
        key: key.map(str::to_owned),
    };
    save(&upsert(load(), entry));
}

/// Drops `room` from the list.
pub(crate) fn forget(room: &str) -> Vec<RecentDoc> {
    let mut list = load();
    list.retain(|doc| doc.room != room);
    save(&list);
    list
}

fn save(list: &[RecentDoc]) {
    if let Ok(json) = serde_json::to_string(list)
        && let Err(e) = storage::set(storage::RECENT_KEY, &json)
    {
        leptos::logging::warn!("recent documents not saved: {e}");
    }
}

/// `list` with `entry` first, any older entry for the same room removed
/// (its key carried over when `entry` has none), and at most
/// [`MAX_ENTRIES`] kept.
pub(crate) fn upsert(mut list: Vec<RecentDoc>, mut entry: RecentDoc) -> Vec<RecentDoc> {
    if entry.key.is_none() {
        entry.key = list
            .iter()
            .find(|doc| doc.room == entry.room)
            .and_then(|doc| doc.key.clone());
    }
    list.retain(|doc| doc.room != entry.room);
    list.insert(0, entry);
    list.truncate(MAX_ENTRIES);
    list
}

/// "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago" or "12 weeks ago".
pub(crate) fn relative_time(now_ms: f64, then_ms: f64) -> String {
    let seconds = ((now_ms - then_ms) / 1000.0).max(0.0) as u64;
    let minutes = seconds / 60;
    let hours = minutes / 60;
    let days = hours / 24;
    match () {
        _ if minutes < 1 => "just now".to_owned(),
        _ if hours < 1 => format!("{minutes} min ago"),
        _ if days < 1 => format!("{hours} h ago"),
        _ if days < 2 => "yesterday".to_owned(),
        _ if days < 14 => format!("{days} days ago"),
        _ => format!("{} weeks ago", days / 7),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(room: &str, at: f64) -> RecentDoc {
        RecentDoc {
            room: room.into(),
            title: String::new(),
            opened_ms: at,
            key: None,
        }
    }

    fn keyed(room: &str, at: f64, key: &str) -> RecentDoc {
        RecentDoc {
            key: Some(key.into()),
            ..doc(room, at)
        }
    }

    #[test]
    fn keys_are_remembered_until_replaced() {
        let list = upsert(Vec::new(), keyed("a", 1.0, "e.edit"));
        assert_eq!(list[0].path(), "/d/a#key=e.edit");
        // Reopened without a key (typed name): the key stays.
        let list = upsert(list, doc("a", 2.0));
        assert_eq!(list[0].key.as_deref(), Some("e.edit"));
        // Opened through another link: that one counts now.
        let list = upsert(list, keyed("a", 3.0, "v.view"));
        assert_eq!(list[0].path(), "/d/a#key=v.view");
        assert_eq!(list.len(), 1);
        assert_eq!(doc("b", 0.0).path(), "/d/b");
    }

    #[test]
    fn entries_stored_before_keys_existed_still_load() {
        let old = r#"[{"room":"a","title":"T","opened_ms":5.0}]"#;
        let list: Vec<RecentDoc> = serde_json::from_str(old).expect("loads");
        assert_eq!(list[0].key, None);
        let json = serde_json::to_string(&list).expect("saves");
        assert_eq!(json, r#"[{"room":"a","title":"T","opened_ms":5.0}]"#);
    }

    #[test]
    fn upsert_moves_the_room_to_the_front_once() {
        let list = vec![doc("a", 3.0), doc("b", 2.0), doc("c", 1.0)];
        let list = upsert(list, doc("c", 4.0));
        let rooms: Vec<_> = list.iter().map(|d| d.room.as_str()).collect();
        assert_eq!(rooms, ["c", "a", "b"]);
        assert_eq!(list[0].opened_ms, 4.0);
    }

    #[test]
    fn upsert_keeps_a_bounded_list() {
        let mut list = Vec::new();
        for i in 0..40 {
            list = upsert(list, doc(&format!("r{i}"), f64::from(i)));
        }
        assert_eq!(list.len(), MAX_ENTRIES);
        assert_eq!(list[0].room, "r39");
    }

    #[test]
    fn relative_times_read_naturally() {
        let minute = 60_000.0;
        let now = 1_000_000_000_000.0;
        assert_eq!(relative_time(now, now), "just now");
        assert_eq!(relative_time(now, now + minute), "just now");
        assert_eq!(relative_time(now, now - 5.0 * minute), "5 min ago");
        assert_eq!(relative_time(now, now - 180.0 * minute), "3 h ago");
        assert_eq!(relative_time(now, now - 30.0 * 60.0 * minute), "yesterday");
        assert_eq!(
            relative_time(now, now - 4.0 * 1440.0 * minute),
            "4 days ago"
        );
        assert_eq!(
            relative_time(now, now - 84.0 * 1440.0 * minute),
            "12 weeks ago"
        );
    }
}
