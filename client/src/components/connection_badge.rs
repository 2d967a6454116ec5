//! The connection indicator, with "Retry now" while a reconnect is pending.

use leptos::prelude::*;

use crate::net::{Connection, ConnectionState, Control};

/// `connection-state` and `retry-now`.
#[component]
pub(crate) fn ConnectionBadge(
    state: RwSignal<ConnectionState>,
    /// Where "Retry now" goes.
    connection: Connection,
) -> impl IntoView {
    let reconnecting = move || state.with(|s| matches!(s, ConnectionState::Reconnecting { .. }));
    view! {
        <div class="connection">
            <span
                class="badge connection-badge"
                data-testid="connection-state"
                data-state=move || state.with(ConnectionState::key)
                data-client-id=move || state.with(|s| s.client_id().map(|id| id.to_string()))
                role="status"
                aria-live="polite"
            >
                <span class="dot" aria-hidden="true"></span>
                {move || state.with(ConnectionState::label)}
            </span>
            {move || {
                let connection = connection.clone();
                reconnecting()
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="btn btn-small btn-secondary"
                                data-testid="retry-now"
                                on:click=move |_| connection.request(Control::RetryNow)
                            >
                                "Retry now"
                            </button>
                        }
                    })
            }}
        </div>
    }
}
