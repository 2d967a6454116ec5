//! The page for any address the app does not know.

use leptos::prelude::*;

use super::Logo;
use crate::page::set_page_title;

/// 404, in the app's own look.
#[component]
pub(crate) fn NotFound() -> impl IntoView {
    set_page_title("Page not found — Tandem");
    view! {
        <div class="page">
            <header class="topbar">
                <Logo/>
            </header>
            <main class="message-page">
                <div class="message-card">
                    <h1>"Page not found"</h1>
                    <p class="muted">"There is nothing at this address."</p>
                    <a class="btn btn-primary" href="/">
                        "Back to Tandem"
                    </a>
                </div>
            </main>
        </div>
    }
}
