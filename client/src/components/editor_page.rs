//! `/d/{room}`: validates the room name, then shows the document or the
//! invalid-name page. A new room name or key (navigation between documents,
//! or a pasted link with other rights) builds a new
//! [`DocumentView`](super::DocumentView) (through [`DocumentLoader`], which
//! reads the offline copy first), and the old one tears itself down.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_params_map};
use tandem_shared::RoomId;

use super::{DocumentLoader, InvalidRoom};

/// The editor route.
#[component]
pub(crate) fn EditorPage() -> impl IntoView {
    let params = use_params_map();
    let location = use_location();
    let target = Memo::new(move |_| {
        let name = params.with(|p| p.get("room").unwrap_or_default());
        let key = location.hash.with(|hash| key_from_hash(hash));
        (name, key)
    });
    move || {
        let (name, key) = target.get();
        match RoomId::new(name.clone()) {
            Ok(room) => view! { <DocumentLoader room=room key=key/> }.into_any(),
            Err(e) => view! { <InvalidRoom name=name error=e.to_string()/> }.into_any(),
        }
    }
}

/// The share-link key in a page address's fragment (`#key=…`), if any.
pub(crate) fn key_from_hash(hash: &str) -> Option<String> {
    hash.trim_start_matches('#')
        .split('&')
        .find_map(|part| part.strip_prefix("key="))
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
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
