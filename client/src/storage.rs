//! `localStorage`, the browser's per-origin key/value store, and the keys
//! Tandem keeps there: small things (the recent list, this person's name).
//! Storage can be missing (privacy modes, sandboxed frames) or full; every
//! caller treats it as best effort.
//!
//! Earlier versions also kept each document's offline copy here; those are
//! now in IndexedDB (`editor::local_copy`), which reads them once through
//! [`legacy_copies`] and removes them with [`remove_legacy`].

use crate::error::ClientError;

/// An earlier version's copy of `room`: its yrs state as a v1 update, base64.
const LEGACY_DOC_PREFIX: &str = "tandem:doc:";

/// An earlier version's flag: present (`"1"`) when the copy of `room` held
/// edits the server had not acknowledged.
fn legacy_unsaved_key(room: &str) -> String {
    format!("tandem:unsaved:{room}")
}

/// A document copy an earlier version left in `localStorage`.
pub(crate) struct LegacyCopy {
    pub(crate) room: String,
    /// The yrs state, decoded from base64.
    pub(crate) state: Vec<u8>,
    /// Whether it may hold edits the server never acknowledged.
    pub(crate) unsaved: bool,
}

/// Every document copy an earlier version left here. One that does not
/// decode is removed at once: nothing can be made of it.
pub(crate) fn legacy_copies() -> Vec<LegacyCopy> {
    let Some(storage) = local_storage() else {
        return Vec::new();
    };
    let length = storage.length().unwrap_or(0);
    let rooms: Vec<String> = (0..length)
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter_map(|key| key.strip_prefix(LEGACY_DOC_PREFIX).map(str::to_owned))
        .collect();
    let mut copies = Vec::new();
    for room in rooms {
        let encoded = get(&format!("{LEGACY_DOC_PREFIX}{room}")).unwrap_or_default();
        match decode_base64(&encoded) {
            Some(state) => copies.push(LegacyCopy {
                unsaved: get(&legacy_unsaved_key(&room)).is_some(),
                room,
                state,
            }),
            None => {
                leptos::logging::warn!("unreadable old copy of {room} removed");
                remove_legacy(&room);
            }
        }
    }
    copies
}

/// Removes an earlier version's copy of `room` and its flag.
pub(crate) fn remove_legacy(room: &str) {
    remove(&format!("{LEGACY_DOC_PREFIX}{room}"));
    remove(&legacy_unsaved_key(room));
}

/// The browser's own base64 decoder (`atob`), whose "binary string" holds
/// one byte per character.
fn decode_base64(encoded: &str) -> Option<Vec<u8>> {
    let binary = web_sys::window()?.atob(encoded).ok()?;
    binary.chars().map(|c| u8::try_from(c).ok()).collect()
}

/// The recently opened documents, as JSON.
pub(crate) const RECENT_KEY: &str = "tandem:recent";

/// This browser's presence identity (random id and display name), as JSON.
pub(crate) const IDENTITY_KEY: &str = "tandem:identity";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The value under `key`, if storage is available and holds one.
pub(crate) fn get(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

/// Stores `value` under `key`.
pub(crate) fn set(key: &str, value: &str) -> Result<(), ClientError> {
    let storage = local_storage()
        .ok_or_else(|| ClientError::Storage("localStorage is unavailable".into()))?;
    storage
        .set_item(key, value)
        .map_err(|e| ClientError::Storage(format!("{e:?}")))
}

/// Removes `key`; a missing key or storage is not an error.
pub(crate) fn remove(key: &str) {
    if let Some(storage) = local_storage() {
        // Removing cannot fail for quota reasons; a security error leaves
        // nothing to clean up either.
        let _ = storage.remove_item(key);
    }
}
