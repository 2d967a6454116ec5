//! Version history as the HTTP API shows it (`/api/rooms/{room}/versions`),
//! shared so the browser reads exactly what the server writes.

use serde::{Deserialize, Serialize};

use crate::authors::AuthorId;

/// Longest version label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

/// One version of a document, as listed by `GET /api/rooms/{room}/versions`
/// (newest first) and answered by naming or restoring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionEntry {
    /// The version's id, unique and growing: a later version has a larger one.
    pub id: u64,
    /// When the checkpoint was taken, in Unix milliseconds.
    pub at: i64,
    /// Who edited since the previous version (presence names; "Anonymous"
    /// for someone who gave none).
    pub authors: Vec<String>,
    /// The name a person gave this version; named versions are never thinned.
    pub label: Option<String>,
    /// Why it was taken: `edit` (after a stretch of editing), `idle` (the
    /// room went idle), `before-restore`, `restore` or `named`.
    pub kind: String,
    /// For a `restore`: the version whose text was brought back.
    pub restored_from: Option<u64>,
    /// Who changed what since the previous version: characters (UTF-16
    /// units) each author added and removed, in order of first change.
    /// Authors are named by the room's authorship (`welcome.authors`).
    #[serde(default)]
    pub changes: Vec<AuthorChange>,
}

/// What one author changed between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorChange {
    /// Who (see [`crate::authors`]).
    pub author: AuthorId,
    /// Characters they inserted, in UTF-16 units (title and body).
    pub added: u64,
    /// Characters they removed, whoever had written them.
    pub removed: u64,
}

/// Adds `added` and `removed` units to `author`'s entry of `changes` (a
/// new entry at the end if they had none).
pub fn count_change(changes: &mut Vec<AuthorChange>, author: &AuthorId, added: u64, removed: u64) {
    if added == 0 && removed == 0 {
        return;
    }
    match changes.iter_mut().find(|c| &c.author == author) {
        Some(change) => {
            change.added += added;
            change.removed += removed;
        }
        None => changes.push(AuthorChange {
            author: author.clone(),
            added,
            removed,
        }),
    }
}

/// Body of `POST /api/rooms/{room}/versions`: names the current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameVersion {
    /// 1 to [`MAX_LABEL_CHARS`] characters, no control characters.
    pub label: String,
}

/// Why a label is refused, or `None` if it is fine. Both sides check: the
/// page before sending, the server because input is hostile.
pub fn check_label(label: &str) -> Option<String> {
    let trimmed = label.trim();
    if trimmed.is_empty() {
        return Some("the label is empty".into());
    }
    if trimmed.chars().count() > MAX_LABEL_CHARS {
        return Some(format!(
            "the label is longer than {MAX_LABEL_CHARS} characters"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Some("the label contains control characters".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked() {
        assert_eq!(check_label("Draft sent to Ana"), None);
        assert!(check_label("   ").is_some());
        assert!(check_label("a\u{0}b").is_some());
        assert!(check_label(&"é".repeat(MAX_LABEL_CHARS + 1)).is_some());
        assert_eq!(check_label(&"é".repeat(MAX_LABEL_CHARS)), None);
    }

    #[test]
    fn changes_add_up_per_author_in_order_of_first_change() {
        let ada = AuthorId::new("ada").expect("id");
        let bob = AuthorId::new("bob").expect("id");
        let mut changes = Vec::new();
        count_change(&mut changes, &bob, 3, 0);
        count_change(&mut changes, &ada, 0, 0);
        count_change(&mut changes, &ada, 5, 2);
        count_change(&mut changes, &bob, 1, 4);
        let seen: Vec<(&str, u64, u64)> = changes
            .iter()
            .map(|c| (c.author.as_str(), c.added, c.removed))
            .collect();
        assert_eq!(seen, [("bob", 4, 4), ("ada", 5, 2)]);
        // An entry from before changes were recorded reads without them.
        let old = r#"{"id":1,"at":2,"authors":[],"label":null,"kind":"edit","restored_from":null}"#;
        let entry: VersionEntry = serde_json::from_str(old).expect("reads");
        assert!(entry.changes.is_empty());
    }
}
