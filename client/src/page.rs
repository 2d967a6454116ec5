//! The browser tab around the app: the share key in the page address's
//! fragment, and the tab's title. Plain functions the components share, so
//! no component imports another for them.

/// The share-link key in a page address's fragment (`#key=…`), if any.
pub(crate) fn key_from_hash(hash: &str) -> Option<String> {
    hash.trim_start_matches('#')
        .split('&')
        .find_map(|part| part.strip_prefix("key="))
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
}

/// Sets the browser tab's title.
pub(crate) fn set_page_title(title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(title);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_fragment() {
        assert_eq!(key_from_hash("#key=e.abc"), Some("e.abc".to_owned()));
        assert_eq!(key_from_hash("key=e.abc"), Some("e.abc".to_owned()));
        assert_eq!(key_from_hash("#x=1&key=v.def"), Some("v.def".to_owned()));
        assert_eq!(key_from_hash("#key="), None);
        assert_eq!(key_from_hash(""), None);
    }
}
