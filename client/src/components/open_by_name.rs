//! The "Open a document by name" form on the landing page. It accepts a
//! bare name or a pasted Tandem link (keeping the link's `#key=`, and so its
//! rights), and checks the name with the same rule the server applies
//! (`RoomId::new`) before navigating.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use tandem_shared::RoomId;

/// The form, with its inline error.
#[component]
pub(crate) fn OpenByName() -> impl IntoView {
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (room, key) = target_from_input(&name.get_untracked());
        match RoomId::new(room) {
            Ok(room) => navigate(&room.page_path(key.as_deref()), Default::default()),
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    view! {
        <section class="panel" aria-labelledby="open-heading">
            <h2 id="open-heading">"Open a document by name"</h2>
            <p class="muted">"Type a name to open that document (or start it), or paste a Tandem link."</p>
            <form class="open-form" on:submit=submit novalidate>
                <label class="sr-only" for="open-name">
                    "Document name"
                </label>
                <input
                    id="open-name"
                    class="text-input"
                    data-testid="open-name"
                    type="text"
                    placeholder="team-notes"
                    autocomplete="off"
                    autocapitalize="off"
                    spellcheck="false"
                    aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                    prop:value=move || name.get()
                    on:input=move |ev| {
                        name.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
                <button type="submit" class="btn btn-secondary" data-testid="open-doc">
                    "Open"
                </button>
            </form>
            {move || {
                error
                    .get()
                    .map(|message| {
                        view! {
                            <p class="field-error" role="alert" data-testid="open-error">
                                {message}
                            </p>
                        }
                    })
            }}
        </section>
    }
}

/// The room name in what was typed (the text itself, or the last path
/// segment after `/d/` of a pasted link) and the link's key, if any.
fn target_from_input(input: &str) -> (String, Option<String>) {
    let input = input.trim();
    let Some((_, tail)) = input.rsplit_once("/d/") else {
        return (input.to_owned(), None);
    };
    let end = tail.find(['?', '#']).unwrap_or(tail.len());
    let key = tail
        .split_once('#')
        .and_then(|(_, fragment)| crate::page::key_from_hash(fragment));
    (tail[..end].trim_end_matches('/').to_owned(), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room_name_from_input(input: &str) -> String {
        target_from_input(input).0
    }

    #[test]
    fn names_and_links_both_work() {
        assert_eq!(room_name_from_input("  team-notes "), "team-notes");
        assert_eq!(
            room_name_from_input("https://tandem.example/d/quiet-otter-5k2j9q"),
            "quiet-otter-5k2j9q"
        );
        assert_eq!(
            room_name_from_input("http://localhost:8080/d/abc/?x=1#top"),
            "abc"
        );
        assert_eq!(room_name_from_input("not a name"), "not a name");
        assert_eq!(room_name_from_input(""), "");
    }

    #[test]
    fn a_pasted_link_keeps_its_key() {
        assert_eq!(
            target_from_input("https://tandem.example/d/quiet-otter#key=v.AbC-_1"),
            ("quiet-otter".to_owned(), Some("v.AbC-_1".to_owned()))
        );
        assert_eq!(
            target_from_input("http://localhost:8080/d/abc/#top"),
            ("abc".to_owned(), None)
        );
        assert_eq!(
            target_from_input("team-notes"),
            ("team-notes".to_owned(), None)
        );
    }
}
