//! The landing page: start a document, open one by name, or go back to a
//! recent one.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::{Logo, OpenByName, RecentDocs};
use crate::net::create_room;
use crate::page::set_page_title;

/// `/`.
#[component]
pub(crate) fn Home() -> impl IntoView {
    set_page_title("Tandem — write together");
    let navigate = use_navigate();
    let creating = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // A new document is a protected room: the server names it and hands
    // out its keys; the creator opens it with the edit key.
    let new_doc = move |_| {
        if creating.get_untracked() {
            return;
        }
        creating.set(true);
        error.set(None);
        let navigate = navigate.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match create_room().await {
                Ok(created) => {
                    navigate(
                        &created.room.page_path(Some(&created.edit_key)),
                        Default::default(),
                    );
                }
                Err(e) => {
                    leptos::logging::warn!("creating a document failed: {e}");
                    error.try_set(Some(format!(
                        "Could not create a document: {}",
                        e.explain()
                    )));
                }
            }
            creating.try_set(false);
        });
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
                            aria-busy=move || creating.get().to_string()
                            aria-describedby="new-doc-error"
                            on:click=new_doc
                        >
                            <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
                                <path d="M10 4v12M4 10h12" class="icon-stroke"></path>
                            </svg>
                            {move || if creating.get() { "Creating…" } else { "New document" }}
                        </button>
                    </div>
                    <div id="new-doc-error" class="new-doc-error-slot">
                        {move || {
                            error
                                .get()
                                .map(|message| {
                                    view! {
                                        <p class="field-error" role="alert" data-testid="new-doc-error">
                                            {message}
                                        </p>
                                    }
                                })
                        }}
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
