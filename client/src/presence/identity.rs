//! Who this person is to the others: a display name and a colour.
//!
//! Each browser keeps a random id, a name and an author secret in
//! `localStorage`. The colour it would like is derived from the id, so it
//! stays the same across reloads and tabs without being stored (each room
//! then gives a colour that no one else there shows, see
//! `tandem_shared::palette`); the name defaults to a friendly pair such as
//! "Curious Otter", also derived from the id, until the person types their
//! own. The secret goes in every `hello`: the server recognises this
//! browser as one author by it, and shows others only a digest of it.

use serde::{Deserialize, Serialize};
use tandem_shared::Presence;
use tandem_shared::authors::valid_secret;
// Colours for people: contrast-tested in `tandem_shared::palette`.
use tandem_shared::palette::PALETTE;

use crate::storage;

const ADJECTIVES: [&str; 24] = [
    "Curious", "Brave", "Calm", "Clever", "Gentle", "Happy", "Jolly", "Kind", "Lively", "Lucky",
    "Merry", "Nimble", "Patient", "Quiet", "Sunny", "Swift", "Witty", "Bold", "Bright", "Cheerful",
    "Friendly", "Keen", "Mellow", "Plucky",
];

const ANIMALS: [&str; 24] = [
    "Otter", "Badger", "Heron", "Fox", "Panda", "Falcon", "Koala", "Lynx", "Owl", "Puffin",
    "Robin", "Seal", "Tiger", "Walrus", "Wombat", "Crane", "Dolphin", "Hedgehog", "Lemur",
    "Marten", "Narwhal", "Penguin", "Raccoon", "Sparrow",
];

/// This browser's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identity {
    /// Random per browser; picks the colour and the default name.
    #[serde(with = "hex_id")]
    pub(crate) id: u64,
    /// The display name others see, already valid for the protocol.
    pub(crate) name: String,
    /// The author secret its hellos present (32 hex digits, random); made
    /// when missing (identities stored before authorship was recorded).
    #[serde(default)]
    pub(crate) secret: String,
}

impl Identity {
    /// A new identity for `id`, with the default name and `secret`.
    pub(crate) fn new(id: u64, secret: String) -> Self {
        Self {
            id,
            name: default_name(id),
            secret,
        }
    }

    /// The colour of this identity, `#rrggbb`.
    pub(crate) fn color(&self) -> &'static str {
        color_for(self.id)
    }

    /// The identity stored in this browser, or a new one (stored at once).
    pub(crate) fn load_or_create(mut random: impl FnMut() -> u64) -> Self {
        let stored = storage::get(storage::IDENTITY_KEY)
            .and_then(|json| serde_json::from_str::<Self>(&json).ok());
        match stored {
            Some(mut identity) => {
                if clean_name(&identity.name).is_none() {
                    identity.name = default_name(identity.id);
                }
                if !valid_secret(&identity.secret) {
                    identity.secret = new_secret(&mut random);
                    identity.save();
                }
                identity
            }
            None => {
                let id = random();
                let identity = Self::new(id, new_secret(&mut random));
                identity.save();
                identity
            }
        }
    }

    /// Remembers the identity in this browser (best effort).
    pub(crate) fn save(&self) {
        if let Ok(json) = serde_json::to_string(self)
            && let Err(e) = storage::set(storage::IDENTITY_KEY, &json)
        {
            leptos::logging::warn!("name not remembered: {e}");
        }
    }
}

/// A new author secret: 128 random bits as 32 hex digits.
fn new_secret(random: &mut impl FnMut() -> u64) -> String {
    format!("{:016x}{:016x}", random(), random())
}

/// The colour for a browser id.
pub(crate) fn color_for(id: u64) -> &'static str {
    // The id is random; mixing still spreads ids that differ in few bits.
    PALETTE[(mix(id) % PALETTE.len() as u64) as usize]
}

/// `color` if it is `#rrggbb` (the server checks, but this goes into a
/// `style` attribute), else a neutral grey.
pub(crate) fn safe_color(color: &str) -> &str {
    let hex = color.strip_prefix('#').unwrap_or_default();
    if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        color
    } else {
        "#6b7280"
    }
}

/// "Curious Otter" and friends: a default name for a browser id.
pub(crate) fn default_name(id: u64) -> String {
    let bits = mix(id ^ 0x5eed);
    let adjective = ADJECTIVES[(bits % ADJECTIVES.len() as u64) as usize];
    let animal = ANIMALS[((bits >> 16) % ANIMALS.len() as u64) as usize];
    format!("{adjective} {animal}")
}

/// `name` as the protocol accepts it (trimmed, no control characters, at
/// most [`Presence::MAX_NAME_CHARS`] characters), or `None` if nothing is left.
pub(crate) fn clean_name(name: &str) -> Option<String> {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed: String = cleaned
        .trim()
        .chars()
        .take(Presence::MAX_NAME_CHARS)
        .collect();
    let trimmed = trimmed.trim_end();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Up to two initials for an avatar, in the name's own case: "Curious
/// Otter" → "CO", "ada" → "a" (the avatar shows it as "A": CSS
/// `text-transform: uppercase`, because `char::to_uppercase` would bring
/// Unicode's case tables, about 10 KB, into the wasm for this alone).
/// A name with no letters or digits (say, an emoji) shows its first character.
pub(crate) fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .collect();
    if letters.is_empty() {
        name.trim().chars().take(1).collect()
    } else {
        letters
    }
}

/// SplitMix64's finaliser: a cheap bijective scramble of 64 bits.
/// <https://prng.di.unimi.it/splitmix64.c>
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The id is stored as 16 hex digits: JSON numbers lose precision past 2^53.
mod hex_id {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{id:016x}"))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        u64::from_str_radix(&text, 16).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_names_are_stable_and_spread() {
        assert_eq!(color_for(42), color_for(42));
        assert_eq!(default_name(42), default_name(42));
        let mut colors = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for i in 0..200u64 {
            colors.insert(color_for(i));
            names.insert(default_name(i));
        }
        assert_eq!(colors.len(), PALETTE.len(), "every colour is used");
        assert!(names.len() > 150, "only {} names", names.len());
        for name in names {
            assert_eq!(clean_name(&name).as_deref(), Some(name.as_str()));
            let (adjective, animal) = name.split_once(' ').expect("two words");
            assert!(ADJECTIVES.contains(&adjective) && ANIMALS.contains(&animal));
        }
    }

    #[test]
    fn names_are_cleaned_to_the_protocol_rule() {
        assert_eq!(clean_name("  Ada  ").as_deref(), Some("Ada"));
        assert_eq!(clean_name("Ada\nLovelace").as_deref(), Some("Ada Lovelace"));
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name(""), None);
        let long = "é".repeat(60);
        let cleaned = clean_name(&long).expect("non-empty");
        assert_eq!(cleaned.chars().count(), Presence::MAX_NAME_CHARS);
        let presence = Presence {
            name: cleaned,
            color: PALETTE[0].into(),
            cursor: None,
        };
        assert_eq!(presence.validate(), Ok(()));
    }

    #[test]
    fn only_hex_colours_reach_a_style() {
        assert_eq!(safe_color("#e06c75"), "#e06c75");
        assert_eq!(safe_color("red;background:url(x)"), "#6b7280");
        assert_eq!(safe_color("#e06c7"), "#6b7280");
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("Curious Otter"), "CO");
        assert_eq!(initials("ada"), "a");
        assert_eq!(initials("Jean-Luc de la Tour"), "Jd");
        assert_eq!(initials("  (the) boss "), "tb");
        assert_eq!(initials("élodie"), "é");
        assert_eq!(initials("😀"), "😀");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn identity_round_trips_through_json_with_a_full_width_id() {
        let mut draws = [7u64, 9].into_iter();
        let secret = new_secret(&mut || draws.next().unwrap_or(0));
        assert_eq!(secret, "00000000000000070000000000000009");
        assert!(valid_secret(&secret));
        let identity = Identity::new(u64::MAX - 7, secret);
        let json = serde_json::to_string(&identity).expect("serializes");
        assert!(json.contains("\"fffffffffffffff8\""), "{json}");
        assert_eq!(serde_json::from_str::<Identity>(&json).ok(), Some(identity));
        // One stored before authorship had no secret: it reads, without one.
        let old = r#"{"id":"00000000000000ff","name":"Ada"}"#;
        let read: Identity = serde_json::from_str(old).expect("reads");
        assert!(read.secret.is_empty());
    }
}
