//! Version history as the HTTP API shows it (`/api/rooms/{room}/versions`),
//! shared so the browser reads exactly what the server writes.

use serde::{Deserialize, Serialize};

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
}
