//! Who this person is to the others: a display name and a colour.
//!
//! Each browser keeps a random id and a name in `localStorage`. The colour
//! is derived from the id, so it stays the same across reloads and tabs
//! without being stored; the name defaults to a friendly pair such as
//! "Curious Otter", also derived from the id, until the person types their own.

use serde::{Deserialize, Serialize};
use tandem_shared::Presence;

use crate::storage;

/// Colours for people, chosen so that each one
/// - reads as a caret or outline on the light paper (`#ffffff`) and on the
///   dark one (`#1e2128`), at WCAG's 3:1 for graphics, and
/// - carries white initials and name labels at 4.5:1 (normal text).
///
/// The unit tests check both, so a new colour cannot break them.
pub(crate) const PALETTE: [&str; 12] = [
    "#d23f4a", // red
    "#c4541c", // orange
    "#a3650d", // amber
    "#2f8636", // green
    "#0f8274", // teal
    "#1a7bb8", // blue
    "#4f66e8", // indigo
    "#8357e6", // violet
    "#a942b6", // purple
    "#cc3777", // pink
    "#6b7a14", // olive
    "#9c5a32", // brown
];

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
}

impl Identity {
    /// A new identity for `id`, with the default name.
    pub(crate) fn new(id: u64) -> Self {
        Self {
            id,
            name: default_name(id),
        }
    }

    /// The colour of this identity, `#rrggbb`.
    pub(crate) fn color(&self) -> &'static str {
        color_for(self.id)
    }

    /// The identity stored in this browser, or a new one (stored at once).
    pub(crate) fn load_or_create(random: impl FnOnce() -> u64) -> Self {
        let stored = storage::get(storage::IDENTITY_KEY)
            .and_then(|json| serde_json::from_str::<Self>(&json).ok());
        match stored {
            Some(mut identity) => {
                if clean_name(&identity.name).is_none() {
                    identity.name = default_name(identity.id);
                }
                identity
            }
            None => {
                let identity = Self::new(random());
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

    /// WCAG relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    #[test]
    fn palette_reads_in_light_and_dark_mode() {
        for color in PALETTE {
            let presence = Presence {
                name: "x".into(),
                color: color.into(),
                cursor: None,
            };
            assert_eq!(presence.validate(), Ok(()), "{color}");
            // Carets and outlines on the light and dark paper (and page).
            for paper in ["#ffffff", "#f6f5f2", "#1e2128", "#16181d"] {
                let ratio = contrast(color, paper);
                assert!(ratio >= 3.0, "{color} on {paper}: {ratio:.2}");
            }
            // White initials and labels on the colour.
            let ratio = contrast(color, "#ffffff");
            assert!(ratio >= 4.5, "white on {color}: {ratio:.2}");
        }
        let distinct: std::collections::HashSet<_> = PALETTE.iter().collect();
        assert_eq!(distinct.len(), PALETTE.len());
    }

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
        let identity = Identity::new(u64::MAX - 7);
        let json = serde_json::to_string(&identity).expect("serializes");
        assert!(json.contains("\"fffffffffffffff8\""), "{json}");
        assert_eq!(serde_json::from_str::<Identity>(&json).ok(), Some(identity));
    }
}
