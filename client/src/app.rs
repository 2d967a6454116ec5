//! The app's routes: `/` is the landing page, `/d/{room}` the editor.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::{EditorPage, Home, NotFound};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=Home/>
                <Route path=path!("/d/:room") view=EditorPage/>
            </Routes>
        </Router>
    }
}
