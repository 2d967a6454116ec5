//! The "Recent documents" list on the home page, kept in `localStorage`
//! (newest first, one entry per room) and updated whenever a document is
//! opened or its title changes.

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
}

/// The remembered documents, newest first. Unreadable storage reads as empty.
pub(crate) fn load() -> Vec<RecentDoc> {
    storage::get(storage::RECENT_KEY)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Records that `room` is open now with `title`.
pub(crate) fn remember(room: &str, title: &str) {
    let entry = RecentDoc {
        room: room.to_owned(),
        title: title.to_owned(),
        opened_ms: js_sys::Date::now(),
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

/// `list` with `entry` first, any older entry for the same room removed, and
/// at most [`MAX_ENTRIES`] kept.
pub(crate) fn upsert(mut list: Vec<RecentDoc>, entry: RecentDoc) -> Vec<RecentDoc> {
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
        }
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
