//! The connection indicator, with "Retry now" while a reconnect is pending.
//!
//! The badge's text is [`ConnectionState::label`], split in parts so a
//! narrow header can fold it (see `public/tandem.css`, "Header"): on a phone
//! the pill keeps its dot and the countdown, and the words stay in its
//! `title` and for screen readers; the whole text is always in the DOM.

use leptos::prelude::*;

use crate::net::{Connection, ConnectionState, Control};

/// The label of `state` in three parts: the words a narrow header may fold
/// away, what it always shows (the countdown), and a detail it folds first.
/// Concatenated, they are exactly [`ConnectionState::label`].
fn label_parts(state: &ConnectionState) -> (String, String, String) {
    match state {
        ConnectionState::Reconnecting { in_secs, attempt } => (
            "Reconnecting in ".to_owned(),
            format!("{in_secs} s"),
            format!(" (attempt {attempt})"),
        ),
        other => (other.label(), String::new(), String::new()),
    }
}

/// `connection-state` and `retry-now`.
#[component]
pub(crate) fn ConnectionBadge(
    state: RwSignal<ConnectionState>,
    /// Where "Retry now" goes.
    connection: Connection,
) -> impl IntoView {
    let reconnecting = move || state.with(|s| matches!(s, ConnectionState::Reconnecting { .. }));
    let parts = Memo::new(move |_| state.with(label_parts));
    view! {
        <div class="connection">
            <span
                class="badge connection-badge"
                data-testid="connection-state"
                data-state=move || state.with(ConnectionState::key)
                data-client-id=move || state.with(|s| s.client_id().map(|id| id.to_string()))
                title=move || state.with(ConnectionState::label)
            >
                <span class="dot" aria-hidden="true"></span>
                // One flex item, so the badge's gap does not split the words.
                <span class="conn-text">
                    <span class="conn-lead">{move || parts.with(|p| p.0.clone())}</span>
                    <span class="conn-count">{move || parts.with(|p| p.1.clone())}</span>
                    <span class="conn-extra">{move || parts.with(|p| p.2.clone())}</span>
                </span>
            </span>
            {move || {
                let connection = connection.clone();
                reconnecting()
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="btn btn-small btn-secondary retry-button"
                                data-testid="retry-now"
                                title="Retry now"
                                on:click=move |_| connection.request(Control::RetryNow)
                            >
                                <svg viewBox="0 0 20 20" width="14" height="14" aria-hidden="true">
                                    <path d="M16 10a6 6 0 1 1-1.8-4.3M16 3v3.5h-3.5" class="icon-stroke"></path>
                                </svg>
                                <span class="retry-text">"Retry now"</span>
                            </button>
                        }
                    })
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use tandem_shared::ClientId;

    use super::*;

    #[test]
    fn the_parts_make_the_label() {
        let states = [
            ConnectionState::Connecting,
            ConnectionState::Connected {
                client_id: ClientId(1),
            },
            ConnectionState::Reconnecting {
                in_secs: 12,
                attempt: 3,
            },
            ConnectionState::Offline,
            ConnectionState::Closed {
                reason: "the server refused".into(),
            },
        ];
        for state in states {
            let (lead, count, extra) = label_parts(&state);
            assert_eq!(format!("{lead}{count}{extra}"), state.label());
        }
        let reconnecting = ConnectionState::Reconnecting {
            in_secs: 3,
            attempt: 2,
        };
        assert_eq!(
            label_parts(&reconnecting).1,
            "3 s",
            "the countdown stays visible"
        );
    }
}
