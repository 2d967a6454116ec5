//! Reads the offline copy of a room from IndexedDB, which only answers
//! asynchronously, then shows the [`DocumentView`]: the copy is in the
//! document before its socket opens, so the first sync exchange already
//! carries the edits made offline. Nothing is shown meanwhile (a read takes
//! milliseconds; a placeholder would only flash).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use tandem_shared::RoomId;

use super::DocumentView;
use crate::editor::StoredCopy;

/// The editor page of `room` once its stored copy is read.
#[component]
pub(crate) fn DocumentLoader(room: RoomId, key: Option<String>) -> impl IntoView {
    let ready = RwSignal::new(false);
    // Handed to the view once; `SendWrapper` because views want `Send`
    // closures and this is only ever opened on the browser's one thread.
    let slot = SendWrapper::new(Rc::new(RefCell::new(None::<StoredCopy>)));
    {
        let slot = Rc::clone(&slot);
        let room = room.to_string();
        wasm_bindgen_futures::spawn_local(async move {
            let stored = StoredCopy::read(&room).await;
            *slot.borrow_mut() = Some(stored);
            // The page may have gone meanwhile: then nobody is told.
            let _ = ready.try_set(true);
        });
    }
    move || {
        if !ready.get() {
            return None;
        }
        let stored = slot.borrow_mut().take()?;
        Some(view! { <DocumentView room=room.clone() key=key.clone() stored=stored/> })
    }
}
