//! Behaviour shared by the header's popovers (Share, Download) and the
//! side panels (History, Frames): closing on a click outside, and where the
//! keyboard focus goes as they open and close.

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

/// Gives the keyboard focus back to `button` when the popover or panel
/// behind `open` closes and took the focus with it (Escape, its own Close
/// button, a choice made in it), so a keyboard user goes on from where they
/// opened it. A close by a click elsewhere leaves the focus where the click
/// put it.
pub(crate) fn return_focus_on_close<E>(open: RwSignal<bool>, button: NodeRef<E>)
where
    E: leptos::html::ElementType,
    E::Output: JsCast + Clone + 'static,
{
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if was_open == Some(true) && !is_open {
            // After the panel has left the DOM: only then does the browser
            // say where the focus went.
            request_animation_frame(move || {
                let lost = web_sys::window()
                    .and_then(|w| w.document())
                    .is_some_and(|d| {
                        d.active_element()
                            .is_none_or(|a| d.body().is_some_and(|b| b.is_same_node(Some(&a))))
                    });
                if lost
                    && let Some(button) = button.get_untracked()
                    && let Some(button) = button.dyn_ref::<web_sys::HtmlElement>()
                {
                    let _ = button.focus();
                }
            });
        }
        is_open
    });
}

/// Moves the keyboard focus to `target` once it is in the DOM: what a
/// panel or popover does as it opens.
pub(crate) fn focus_when_shown<E>(target: NodeRef<E>)
where
    E: leptos::html::ElementType,
    E::Output: JsCast + Clone + 'static,
{
    target.on_load(|element| {
        if let Some(element) = element.dyn_ref::<web_sys::HtmlElement>() {
            let _ = element.focus();
        }
    });
}
