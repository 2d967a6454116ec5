//! Behaviour shared by the header's popovers (Share, Download).

use leptos::ev;
use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Closes the popover behind `open` when a pointer goes down anywhere
/// outside `root`, for as long as the calling component lives.
pub(crate) fn close_on_outside_pointer(open: RwSignal<bool>, root: NodeRef<Div>) {
    let outside = window_event_listener(ev::pointerdown, move |ev| {
        if !open.get_untracked() {
            return;
        }
        let target = ev.target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
        let inside = root
            .get_untracked()
            .zip(target)
            .is_some_and(|(root, t)| root.contains(Some(&t)));
        if !inside {
            open.set(false);
        }
    });
    on_cleanup(move || outside.remove());
}
