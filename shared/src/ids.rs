//! Identifiers that cross the wire, validated when they are constructed so an
//! invalid one cannot exist past the edge of the system.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The name of a room, as it appears in `/d/{room}` and `/ws/{room}`.
///
/// Rule: 1 to [`RoomId::MAX_LEN`] characters, each ASCII letter, digit, `-` or
/// `_`. The rule keeps names safe in URLs, file names and log lines without
/// escaping, and is checked on both sides so the client never builds a link the
/// server will refuse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RoomId(String);

/// Why a string is not a valid [`RoomId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidRoomId {
    /// The name is empty.
    Empty,
    /// The name is longer than [`RoomId::MAX_LEN`] bytes.
    TooLong,
    /// The name holds a character outside `[A-Za-z0-9_-]`.
    BadChar,
}

impl fmt::Display for InvalidRoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "room name is empty",
            Self::TooLong => "room name is longer than 64 characters",
            Self::BadChar => "room name may only hold letters, digits, '-' and '_'",
        })
    }
}

impl std::error::Error for InvalidRoomId {}

impl RoomId {
    /// Longest accepted room name, in bytes (all accepted characters are ASCII).
    pub const MAX_LEN: usize = 64;

    /// Validates `name` against the room-name rule.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidRoomId> {
        let name = name.into();
        if name.is_empty() {
            return Err(InvalidRoomId::Empty);
        }
        if name.len() > Self::MAX_LEN {
            return Err(InvalidRoomId::TooLong);
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(InvalidRoomId::BadChar);
        }
        Ok(Self(name))
    }

    /// A fresh, readable, hard-to-guess name such as `quiet-otter-5k2j9q`,
    /// built from the `entropy` the caller supplies (so this crate needs no RNG).
    pub fn generate(entropy: u64) -> Self {
        const ADJECTIVES: [&str; 32] = [
            "amber", "bold", "brave", "bright", "calm", "clever", "cosy", "crisp", "eager", "fair",
            "gentle", "glad", "golden", "grand", "happy", "jolly", "keen", "kind", "lively",
            "lucky", "merry", "mild", "neat", "noble", "proud", "quick", "quiet", "rapid", "sunny",
            "swift", "tidy", "witty",
        ];
        const NOUNS: [&str; 32] = [
            "badger", "beacon", "birch", "brook", "canyon", "cedar", "comet", "crane", "delta",
            "falcon", "fern", "fjord", "harbor", "heron", "island", "lagoon", "maple", "meadow",
            "orchid", "otter", "panda", "pebble", "pine", "quill", "raven", "river", "robin",
            "sparrow", "summit", "tiger", "valley", "willow",
        ];
        const ALPHABET: &[u8; 32] = b"23456789abcdefghjkmnpqrstuvwxyz_";
        let adjective = ADJECTIVES[(entropy & 31) as usize];
        let noun = NOUNS[((entropy >> 5) & 31) as usize];
        let mut rest = entropy >> 10;
        let mut tag = String::with_capacity(6);
        for _ in 0..6 {
            // The last alphabet slot is never drawn: `% 31` keeps tags free of '_'.
            tag.push(ALPHABET[(rest % 31) as usize] as char);
            rest /= 31;
        }
        Self(format!("{adjective}-{noun}-{tag}"))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The editor page, `/d/{room}`, with the share key (if any) in the
    /// fragment, where it never reaches server logs or `Referer` headers.
    pub fn page_path(&self, key: Option<&str>) -> String {
        match key {
            Some(key) => format!("/d/{}#key={key}", self.0),
            None => format!("/d/{}", self.0),
        }
    }

    /// The WebSocket endpoint, `/ws/{room}`. It never carries the share key,
    /// which a URL would leak into server and proxy logs: the key travels in
    /// the connection's first message (`hello`, see `protocol`).
    pub fn ws_path(&self) -> String {
        format!("/ws/{}", self.0)
    }

    /// The full socket URL on the server at `base` (`ws://host:port`, or the
    /// `http(s)://` origin of a page, whose scheme becomes `ws(s)://`): the
    /// one way every client builds it.
    pub fn ws_url(&self, base: &str) -> String {
        let base = base.trim_end_matches('/');
        let base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_owned()
        };
        format!("{base}{}", self.ws_path())
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RoomId {
    type Err = InvalidRoomId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for RoomId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::new(name).map_err(serde::de::Error::custom)
    }
}

/// The server-assigned id of one connection, unique within a server process.
/// Presence entries and log lines refer to a connection by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub u64);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for name in ["a", "Z", "0", "-", "_", "quiet-otter_42", &"x".repeat(64)] {
            assert_eq!(
                RoomId::new(name).map(|r| r.to_string()),
                Ok(name.to_string())
            );
        }
    }

    #[test]
    fn refuses_names_outside_the_rule() {
        assert_eq!(RoomId::new(""), Err(InvalidRoomId::Empty));
        assert_eq!(RoomId::new("x".repeat(65)), Err(InvalidRoomId::TooLong));
        for bad in ["a b", "a/b", "..", "é", "a%20", "a.b", "<script>", "a\0"] {
            assert_eq!(RoomId::new(bad), Err(InvalidRoomId::BadChar), "{bad:?}");
        }
    }

    #[test]
    fn paths_carry_the_key_where_each_side_expects_it() {
        let room = RoomId::new("quiet-otter").expect("valid");
        assert_eq!(room.page_path(None), "/d/quiet-otter");
        assert_eq!(room.page_path(Some("e.abc")), "/d/quiet-otter#key=e.abc");
        assert_eq!(room.ws_path(), "/ws/quiet-otter");
    }

    #[test]
    fn socket_urls_follow_the_base() {
        let room = RoomId::new("quiet-otter").expect("valid");
        assert_eq!(
            room.ws_url("http://127.0.0.1:8080"),
            "ws://127.0.0.1:8080/ws/quiet-otter"
        );
        assert_eq!(
            room.ws_url("https://tandem.example/"),
            "wss://tandem.example/ws/quiet-otter"
        );
        assert_eq!(
            room.ws_url("ws://127.0.0.1:9"),
            "ws://127.0.0.1:9/ws/quiet-otter"
        );
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<RoomId>("\"ok-name\"").is_ok());
        assert!(serde_json::from_str::<RoomId>("\"not ok\"").is_err());
    }

    #[test]
    fn generated_names_are_valid_and_vary() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..1000u64 {
            let entropy = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let room = RoomId::generate(entropy);
            assert!(RoomId::new(room.as_str()).is_ok(), "{room}");
            seen.insert(room);
        }
        assert_eq!(seen.len(), 1000);
    }
}
