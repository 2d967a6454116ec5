//! `/d/{room}`: validates the room name, then shows the document or the
//! invalid-name page. A new room name (navigation between documents) builds a
//! new [`DocumentView`], and the old one tears itself down.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use tandem_shared::RoomId;

use super::{DocumentView, InvalidRoom};

/// The editor route.
#[component]
pub(crate) fn EditorPage() -> impl IntoView {
    let params = use_params_map();
    move || {
        let name = params.with(|p| p.get("room").unwrap_or_default());
        match RoomId::new(name.clone()) {
            Ok(room) => view! { <DocumentView room=room/> }.into_any(),
            Err(e) => view! { <InvalidRoom name=name error=e.to_string()/> }.into_any(),
        }
    }
}
