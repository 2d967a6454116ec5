//! Share links as the links API shows them (`/api/rooms/{room}/links`),
//! shared so the page reads and sends exactly what the server checks.
//!
//! A protected document has a list of links, each a record: an id, the
//! [`Right`] it grants, an optional label, who created it and when, an
//! optional expiry, and whether it was revoked. A key names its link:
//! `{id}.{tag}`, where the tag is an HMAC the server signs (see the server's
//! `access` module). Every protected document starts with two links, `e`
//! (edit) and `v` (view), whose keys are the `e.…` and `v.…` keys issued
//! before links were records; they stand implicitly until the document's
//! links are first changed, which writes them down as records that can then
//! be relabelled, narrowed or revoked like any other.
//!
//! Adding a right is one variant of [`Right`]: the store keeps it by
//! [`Right::as_str`], the API and the page by its serde name, and every
//! `match` on it says what it allows. [`Right::Comment`] came that way: a
//! link that may add and answer comments (`crate::comments`) but not change
//! the text; only created links grant it (the two originals are edit and
//! view).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// What a link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// Read and change the document, and manage its links.
    Edit,
    /// Read the document, be present, and add and answer comments: the
    /// server refuses any update that changes more than the comments.
    Comment,
    /// Read the document and be present; changes are refused.
    View,
}

impl Right {
    /// Every right, widest first.
    pub const ALL: [Self; 3] = [Self::Edit, Self::Comment, Self::View];

    /// The rights the Share popover offers for a link. The comment right
    /// is left out until the page can comment (a comment link opens
    /// read-only there); the links API grants it.
    pub const OFFERED: [Self; 2] = [Self::Edit, Self::View];

    /// The stored and serialised name: `edit`, `comment`, `view`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Comment => "comment",
            Self::View => "view",
        }
    }

    /// The right named `name` (as [`Right::as_str`] spells it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|right| right.as_str() == name)
    }

    /// Whether a connection holding this right may not change the text
    /// (the body and the title): a comment link may still comment.
    pub fn read_only(self) -> bool {
        match self {
            Self::Edit => false,
            Self::Comment | Self::View => true,
        }
    }

    /// Whether a connection holding this right may add and answer comments.
    pub fn may_comment(self) -> bool {
        match self {
            Self::Edit | Self::Comment => true,
            Self::View => false,
        }
    }

    /// What the page calls it, e.g. in the links list.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Edit => "Can edit",
            Self::Comment => "Can comment",
            Self::View => "View only",
        }
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id of a share link, as it appears in its key (`{id}.{tag}`) and in
/// `/api/rooms/{room}/links/{id}`.
///
/// Rule: `e` or `v` (the two links every protected document starts with),
/// or exactly [`LinkId::LEN`] characters of `A–Z a–z 0–9 - _` (the base64url
/// of 8 random bytes, for links created since).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LinkId(String);

/// Why a string is not a [`LinkId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidLinkId;

impl fmt::Display for InvalidLinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a link id")
    }
}

impl std::error::Error for InvalidLinkId {}

impl LinkId {
    /// Length of a created link's id: 8 bytes in base64url, unpadded.
    pub const LEN: usize = 11;

    /// Validates `id` against the rule.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidLinkId> {
        let id = id.into();
        let original = id == "e" || id == "v";
        let created = id.len() == Self::LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if original || created {
            Ok(Self(id))
        } else {
            Err(InvalidLinkId)
        }
    }

    /// The id of a created link from its 8 random bytes.
    pub fn from_random(bytes: [u8; 8]) -> Self {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bits = u64::from_be_bytes(bytes);
        // 11 sextets hold 66 bits: the first carries the top 4 bits only.
        let id = (0..Self::LEN)
            .map(|i| {
                let shift = 6 * (Self::LEN - 1 - i);
                ALPHABET[((bits >> shift) & 63) as usize] as char
            })
            .collect();
        Self(id)
    }

    /// The original link granting `right`: `e` for edit, `v` for view.
    /// No original link grants comments (only created ones do): asked for
    /// one, this names the view link, the original that grants no more.
    pub fn original(right: Right) -> Self {
        match right {
            Right::Edit => Self("e".into()),
            Right::Comment | Right::View => Self("v".into()),
        }
    }

    /// Whether this is one of the two links a document starts with.
    pub fn is_original(&self) -> bool {
        self.0.len() == 1
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LinkId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        Self::new(id).map_err(serde::de::Error::custom)
    }
}

/// Where a link stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Its key works.
    Active,
    /// Its expiry passed: its key no longer works.
    Expired,
    /// An editor revoked it: its key no longer works.
    Revoked,
}

/// One link, as `GET /api/rooms/{room}/links` lists it (oldest first) and
/// the other link routes answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkEntry {
    /// The link's id, also the first part of its key.
    pub id: LinkId,
    /// What it grants.
    pub right: Right,
    /// A name an editor gave it ("Design review").
    pub label: Option<String>,
    /// The name the person who created it gave (as in presence), if any;
    /// `null` for the two original links.
    pub created_by: Option<String>,
    /// When it was created, in Unix milliseconds; `null` for the two
    /// original links (they came with the document).
    pub created_at: Option<i64>,
    /// When its key stops working, in Unix milliseconds; `null`: never.
    pub expires_at: Option<i64>,
    /// When it was revoked, in Unix milliseconds.
    pub revoked_at: Option<i64>,
    /// Where it stands when the answer was written.
    pub state: LinkState,
    /// Its key, for the link `/d/{room}#key={key}`; `null` once it no
    /// longer works.
    pub key: Option<String>,
}

/// Which links a protected room's editors are handed as its quick edit and
/// view links (`welcome.share`, and the Share popover's first two fields):
/// an active edit link that never expires and an active view link (one that
/// never expires first), the oldest of each, so the two originals while
/// they stand. `facts` says of a link its right, whether it works now, and
/// whether it expires. One rule for the server and the page.
pub fn share_pair<T>(links: &[T], facts: impl Fn(&T) -> (Right, bool, bool)) -> Option<(&T, &T)> {
    let edit = links.iter().find(|link| {
        let (right, active, expires) = facts(link);
        right == Right::Edit && active && !expires
    })?;
    let view = links
        .iter()
        .filter(|link| {
            let (right, active, _) = facts(link);
            right == Right::View && active
        })
        .min_by_key(|link| facts(link).2)?;
    Some((edit, view))
}

/// Longest link label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;
/// Longest `created_by` name, in characters (a presence name's bound).
pub const MAX_CREATOR_CHARS: usize = 48;
/// Longest expiry a link may be given, in seconds (366 days).
pub const MAX_EXPIRES_IN: u64 = 366 * 24 * 60 * 60;

/// The expiries the page offers, with their labels.
pub const EXPIRY_CHOICES: [(&str, Option<u64>); 4] = [
    ("1 hour", Some(60 * 60)),
    ("1 day", Some(24 * 60 * 60)),
    ("7 days", Some(7 * 24 * 60 * 60)),
    ("Never", None),
];

/// Body of `POST /api/rooms/{room}/links`: a new link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// What it grants.
    pub right: Right,
    /// An optional name for it, 1 to [`MAX_LABEL_CHARS`] characters.
    #[serde(default)]
    pub label: Option<String>,
    /// Seconds from now until its key stops working, 1 to
    /// [`MAX_EXPIRES_IN`]; absent or `null`: never.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// The creator's name as they gave it in the editor, 1 to
    /// [`MAX_CREATOR_CHARS`] characters.
    #[serde(default)]
    pub created_by: Option<String>,
}

/// Body of `PATCH /api/rooms/{room}/links/{id}`: what to change. A field
/// left out is kept; `null` clears the label or removes the expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPatch {
    /// A new label, or `null` for none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub label: Option<Option<String>>,
    /// A new right: connections admitted with the link follow at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<Right>,
    /// Seconds from now until the key stops working, or `null` for never.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_in: Option<Option<u64>>,
}

impl LinkPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.label.is_none() && self.right.is_none() && self.expires_in.is_none()
    }
}

/// A field that is present (`Some`, maybe `Some(None)` for `null`), as
/// opposed to left out (`None`, through `#[serde(default)]`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Why a label is refused, or `None` if it is fine (the same rule as a
/// version's label). Both sides check: the page before sending, the server
/// because input is hostile.
pub fn check_label(label: &str) -> Option<String> {
    crate::history::check_label(label)
}

/// Why a creator's name is refused, or `None`.
pub fn check_creator(name: &str) -> Option<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Some("created_by is empty".into());
    }
    if trimmed.chars().count() > MAX_CREATOR_CHARS {
        return Some(format!(
            "created_by is longer than {MAX_CREATOR_CHARS} characters"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Some("created_by contains control characters".into());
    }
    None
}

/// Why an expiry is refused, or `None`.
pub fn check_expires_in(seconds: u64) -> Option<String> {
    if seconds == 0 || seconds > MAX_EXPIRES_IN {
        Some(format!(
            "expires_in must be from 1 to {MAX_EXPIRES_IN} seconds, or null for never"
        ))
    } else {
        None
    }
}

/// What the page says about when a link stops working, `now` and `at` in
/// Unix milliseconds: "expires in 3 hours", "expired".
pub fn describe_expiry(expires_at: Option<i64>, now: i64) -> String {
    let Some(at) = expires_at else {
        return "never expires".into();
    };
    let left = (at - now) / 1000;
    if left <= 0 {
        return "expired".into();
    }
    // A link made for a day reads "1 day" a moment later, not "24 hours":
    // hours and days are rounded, and each unit takes over a little early.
    let (amount, unit) = match left {
        0..60 => (left, "second"),
        60..2_700 => ((left + 59) / 60, "minute"),
        2_700..84_600 => (((left + 1_800) / 3_600).max(1), "hour"),
        _ => (((left + 43_200) / 86_400).max(1), "day"),
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("expires in {amount} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_round_trip_by_name() {
        for right in Right::ALL {
            assert_eq!(Right::parse(right.as_str()), Some(right));
            let json = serde_json::to_string(&right).expect("json");
            assert_eq!(json, format!("\"{right}\""));
            assert_eq!(serde_json::from_str::<Right>(&json).ok(), Some(right));
        }
        assert_eq!(Right::parse("admin"), None);
        assert!(Right::View.read_only() && !Right::Edit.read_only());
        assert!(Right::Comment.read_only() && Right::Comment.may_comment());
        assert!(Right::Edit.may_comment() && !Right::View.may_comment());
        assert_eq!(Right::parse("comment"), Some(Right::Comment));
    }

    #[test]
    fn link_ids_follow_the_rule() {
        for good in ["e", "v", "AbCdEfGhIj0", "-_-_-_-_-_-"] {
            assert!(LinkId::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "x",
            "E",
            "AbCdEfGhIj",
            "AbCdEfGhIj01",
            "AbCdEfGhI.0",
            "é",
        ] {
            assert_eq!(LinkId::new(bad), Err(InvalidLinkId), "{bad}");
        }
        assert!(serde_json::from_str::<LinkId>("\"../etc\"").is_err());
        assert_eq!(LinkId::original(Right::Edit).as_str(), "e");
        assert!(LinkId::original(Right::View).is_original());
    }

    #[test]
    fn random_ids_are_valid_and_distinct() {
        let a = LinkId::from_random([0; 8]);
        let b = LinkId::from_random([0xff; 8]);
        let c = LinkId::from_random([1, 2, 3, 4, 5, 6, 7, 8]);
        for id in [&a, &b, &c] {
            assert_eq!(LinkId::new(id.as_str()).as_ref(), Ok(id));
            assert!(!id.is_original());
        }
        assert_eq!(a.as_str(), "AAAAAAAAAAA");
        assert_eq!(b.as_str(), "P__________");
        assert_ne!(a, c);
    }

    #[test]
    fn a_patch_tells_left_out_from_null() {
        let patch: LinkPatch =
            serde_json::from_str(r#"{"label": null, "right": "view"}"#).expect("patch");
        assert_eq!(
            patch,
            LinkPatch {
                label: Some(None),
                right: Some(Right::View),
                expires_in: None,
            }
        );
        let patch: LinkPatch = serde_json::from_str(r#"{"expires_in": 3600}"#).expect("patch");
        assert_eq!(patch.expires_in, Some(Some(3600)));
        assert_eq!(patch.label, None);
        assert!(
            serde_json::from_str::<LinkPatch>("{}")
                .expect("empty")
                .is_empty()
        );
        assert!(serde_json::from_str::<LinkPatch>(r#"{"revoked": true}"#).is_err());
        assert!(serde_json::from_str::<LinkPatch>(r#"{"right": "owner"}"#).is_err());
        // What the page sends reads back the same.
        let sent = LinkPatch {
            label: Some(Some("Review".into())),
            right: None,
            expires_in: Some(None),
        };
        let json = serde_json::to_string(&sent).expect("json");
        assert_eq!(json, r#"{"label":"Review","expires_in":null}"#);
        assert_eq!(serde_json::from_str::<LinkPatch>(&json).ok(), Some(sent));
    }

    #[test]
    fn a_new_link_needs_a_right_and_nothing_unknown() {
        let link: NewLink = serde_json::from_str(r#"{"right": "edit"}"#).expect("link");
        assert_eq!(
            link,
            NewLink {
                right: Right::Edit,
                label: None,
                expires_in: None,
                created_by: None,
            }
        );
        assert!(serde_json::from_str::<NewLink>("{}").is_err());
        assert!(serde_json::from_str::<NewLink>(r#"{"right":"edit","key":"x"}"#).is_err());
    }

    #[test]
    fn inputs_are_checked() {
        assert_eq!(check_creator("Ana"), None);
        assert!(check_creator(" ").is_some());
        assert!(check_creator(&"é".repeat(MAX_CREATOR_CHARS + 1)).is_some());
        assert!(check_creator("a\nb").is_some());
        assert_eq!(check_expires_in(1), None);
        assert_eq!(check_expires_in(MAX_EXPIRES_IN), None);
        assert!(check_expires_in(0).is_some());
        assert!(check_expires_in(MAX_EXPIRES_IN + 1).is_some());
        for (_, choice) in EXPIRY_CHOICES {
            assert!(choice.is_none_or(|s| check_expires_in(s).is_none()));
        }
        assert!(check_label("Design review").is_none());
    }

    #[test]
    fn expiries_read_well() {
        let now = 1_000_000_000;
        assert_eq!(describe_expiry(None, now), "never expires");
        assert_eq!(describe_expiry(Some(now - 1), now), "expired");
        assert_eq!(
            describe_expiry(Some(now + 1_000), now),
            "expires in 1 second"
        );
        assert_eq!(
            describe_expiry(Some(now + 90_000), now),
            "expires in 2 minutes"
        );
        assert_eq!(
            describe_expiry(Some(now + 3_600_000), now),
            "expires in 1 hour"
        );
        assert_eq!(
            describe_expiry(Some(now + 7 * 86_400_000), now),
            "expires in 7 days"
        );
        assert_eq!(
            describe_expiry(Some(now + 86_399_000), now),
            "expires in 1 day",
            "a day's link a moment later"
        );
        assert_eq!(
            describe_expiry(Some(now + 3_599_000), now),
            "expires in 1 hour"
        );
        assert_eq!(
            describe_expiry(Some(now + 5 * 3_600_000 + 1_000), now),
            "expires in 5 hours"
        );
    }
}
