//! The landing page: start a document, open one by name, or go back to a
//! recent one.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use tandem_shared::RoomId;

use super::{Logo, OpenByName, RecentDocs};

/// `/`.
#[component]
pub(crate) fn Home() -> impl IntoView {
    set_page_title("Tandem — write together");
    let navigate = use_navigate();
    let new_doc = move |_| {
        let room = RoomId::generate(random_u64());
        navigate(&format!("/d/{room}"), Default::default());
    };
    view! {
        <div class="page home-page">
            <header class="topbar">
                <Logo/>
            </header>
            <main class="home">
                <section class="hero">
                    <p class="eyebrow">"Collaborative writing"</p>
                    <h1>"Write together, in real time."</h1>
                    <p class="lede">
                        "Start a document, share the link, and edit side by side. "
                        "Every keystroke reaches everyone at once, and edits made offline "
                        "merge the moment you are back."
                    </p>
                    <div class="hero-actions">
                        <button
                            type="button"
                            class="btn btn-primary btn-large"
                            data-testid="new-doc"
                            on:click=new_doc
                        >
                            <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
                                <path d="M10 4v12M4 10h12" class="icon-stroke"></path>
                            </svg>
                            "New document"
                        </button>
                    </div>
                    <ul class="features">
                        <li>
                            <strong>"Live"</strong>
                            " — see each other's edits as they are typed."
                        </li>
                        <li>
                            <strong>"Durable"</strong>
                            " — “Saved” means on the server's disk."
                        </li>
                        <li>
                            <strong>"Offline-proof"</strong>
                            " — keep writing without a connection."
                        </li>
                    </ul>
                </section>
                <div class="home-panels">
                    <OpenByName/>
                    <RecentDocs/>
                </div>
            </main>
            <footer class="site-footer">
                <span>"Tandem · open source collaborative editor"</span>
            </footer>
        </div>
    }
}

/// Sets the browser tab's title.
pub(super) fn set_page_title(title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(title);
    }
}

/// 64 random bits for a new room name, from the browser's CSPRNG (names are
/// the only access control, so they must be hard to guess).
fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if filled {
        u64::from_le_bytes(bytes)
    } else {
        // No Web Crypto (very old browser): two Math.random draws.
        let draw = || (js_sys::Math::random() * f64::from(u32::MAX)) as u64;
        draw() << 32 | draw()
    }
}
