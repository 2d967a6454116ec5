//! The document page's one polite live region: what screen readers hear
//! about the connection and saving ([`Announcements`] decides what is
//! news). The badges themselves stay silent, so a countdown or the
//! saving/saved flicker of typing is never read out.

use leptos::prelude::*;

use crate::net::{Announcements, ConnectionState, SaveState};

/// `announcer`: visually hidden, `role="status"`.
#[component]
pub(crate) fn StatusAnnouncer(
    connection: RwSignal<ConnectionState>,
    save: RwSignal<SaveState>,
) -> impl IntoView {
    let said = StoredValue::new(Announcements::default());
    let message = RwSignal::new(String::new());
    Effect::new(move |_| {
        let news = connection.with(|c| {
            let save = save.get();
            said.try_update_value(|said| said.next(c, save)).flatten()
        });
        if let Some(news) = news {
            message.set(news);
        }
    });
    view! {
        <div class="sr-only" role="status" aria-live="polite" aria-atomic="true" data-testid="announcer">
            {move || message.get()}
        </div>
    }
}
