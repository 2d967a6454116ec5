//! `localStorage`, the browser's per-origin key/value store, and the keys
//! Tandem keeps there. Storage can be missing (privacy modes, sandboxed
//! frames) or full; every caller treats it as best effort.

use crate::error::ClientError;

/// The document copy of `room`: its yrs state as a v1 update, base64.
pub(crate) fn doc_key(room: &str) -> String {
    format!("tandem:doc:{room}")
}

/// Present (`"1"`) when the copy of `room` holds edits the server has not
/// acknowledged, so a reload knows to show "unsaved" until they are.
pub(crate) fn unsaved_key(room: &str) -> String {
    format!("tandem:unsaved:{room}")
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
