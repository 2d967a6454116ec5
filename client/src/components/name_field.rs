//! "Your name": the display name others see on your avatar and caret,
//! remembered in this browser. Changes apply as you type (when valid) and
//! reach the others through presence.

use leptos::prelude::*;
use tandem_shared::Presence;

use crate::presence::{Identity, clean_name, safe_color};

/// `name-input`.
#[component]
pub(crate) fn NameField(identity: RwSignal<Identity>) -> impl IntoView {
    // What the field shows; may be empty or untrimmed while typing.
    let draft = RwSignal::new(identity.with_untracked(|i| i.name.clone()));
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        draft.set(value.clone());
        if let Some(name) = clean_name(&value)
            && identity.with_untracked(|i| i.name != name)
        {
            identity.update(|i| i.name = name);
            identity.with_untracked(Identity::save);
        }
    };
    // Leaving the field shows the name as the others see it.
    let on_blur = move |_| draft.set(identity.with_untracked(|i| i.name.clone()));
    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        if matches!(ev.key().as_str(), "Enter" | "Escape") {
            ev.prevent_default();
            if let Some(input) = ev
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(t).ok())
            {
                let _ = input.blur();
            }
        }
    };
    view! {
        <label class="name-field" title="Your name, as the others see it">
            <span
                class="name-swatch"
                aria-hidden="true"
                style=move || format!("--peer: {}", identity.with(|i| safe_color(i.color()).to_owned()))
            ></span>
            <span class="sr-only">"Your name"</span>
            <input
                class="name-input"
                data-testid="name-input"
                type="text"
                autocomplete="nickname"
                spellcheck="false"
                maxlength=Presence::MAX_NAME_CHARS.to_string()
                prop:value=move || draft.get()
                on:input=on_input
                on:blur=on_blur
                on:keydown=on_keydown
            />
        </label>
    }
}
