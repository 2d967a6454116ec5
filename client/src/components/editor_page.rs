//! `/d/{room}`: validates the room name, then shows the document or the
//! invalid-name page. A new room name or key (navigation between documents,
//! or a pasted link with other rights) builds a new
//! [`DocumentView`](super::DocumentView) (through [`DocumentLoader`], which
//! reads the offline copy first), and the old one tears itself down.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_params_map};
use tandem_shared::RoomId;

use super::{DocumentLoader, InvalidRoom};
use crate::page::key_from_hash;

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
