//! Who is in the document: one avatar per person (initials in their
//! colour, full name on hover and focus), you first, and the count. A
//! narrow header shows the first few avatars and folds the rest into the
//! count (see `public/tandem.css`, "Header folding").

use leptos::prelude::*;
use tandem_shared::ClientId;

use crate::net::ConnectionState;
use crate::presence::{Identity, PresenceTable, initials, safe_color};

/// `participants`, with one `participant` per person.
#[component]
pub(crate) fn Participants(
    /// This person.
    identity: RwSignal<Identity>,
    /// The colour the room gave this person (their browser's until then).
    room_color: RwSignal<Option<String>>,
    /// Everyone else.
    peers: RwSignal<PresenceTable>,
    /// For this connection's client id.
    connection: RwSignal<ConnectionState>,
) -> impl IntoView {
    let count = move || peers.with(PresenceTable::len) + 1;
    let label = move || match count() {
        1 => "Only you are here".to_owned(),
        n => format!("{n} people here"),
    };
    let others = move || {
        peers.with(|table| {
            table
                .peers()
                .map(|p| (p.client_id, p.name.clone(), p.color.clone()))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="participants">
            <ul
                class="avatars"
                data-testid="participants"
                data-count=move || count().to_string()
                aria-label=label
            >
                <li
                    class="participant is-you"
                    data-testid="participant"
                    data-self="true"
                    data-client-id=move || {
                        connection.with(|c| c.client_id().map(|id| id.to_string()))
                    }
                    data-name=move || identity.with(|i| i.name.clone())
                    data-room-color=move || room_color.get()
                >
                    {move || {
                        let color = room_color.get();
                        identity
                            .with(|i| {
                                avatar(&i.name, color.as_deref().unwrap_or(i.color()), true)
                            })
                    }}
                </li>
                <For
                    each=others
                    key=|peer| peer.clone()
                    children=|(client_id, name, color): (ClientId, String, String)| {
                        view! {
                            <li
                                class="participant"
                                data-testid="participant"
                                data-client-id=client_id.to_string()
                                data-name=name.clone()
                            >
                                {avatar(&name, &color, false)}
                            </li>
                        }
                    }
                />
            </ul>
            // Always shown: past a few avatars (fewer on a phone) the
            // header shows only this count of everyone here.
            <span
                class="participant-count"
                data-testid="participant-count"
                aria-hidden="true"
                title=label
            >
                <svg viewBox="0 0 20 20" width="14" height="14" aria-hidden="true">
                    <circle cx="7.5" cy="7" r="3" class="icon-stroke"></circle>
                    <path d="M2 17c0-3 2.5-5 5.5-5s5.5 2 5.5 5M13 4.3a3 3 0 0 1 0 5.4M15.5 12.4c1.5.7 2.5 2.3 2.5 4.6" class="icon-stroke"></path>
                </svg>
                {count}
            </span>
        </div>
    }
}

/// The round badge: initials on the person's colour, name on hover/focus.
fn avatar(name: &str, color: &str, is_you: bool) -> impl IntoView + use<> {
    let full = if is_you {
        format!("{name} (you)")
    } else {
        name.to_owned()
    };
    view! {
        <span
            class="avatar"
            role="img"
            tabindex="0"
            title=full.clone()
            aria-label=full.clone()
            data-tooltip=full
            style=format!("--peer: {}", safe_color(color))
        >
            // Uppercased by the browser, not by `initials` (see there).
            <span aria-hidden="true" style="text-transform: uppercase">
                {initials(name)}
            </span>
        </span>
    }
}
