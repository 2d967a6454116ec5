//! Tandem's browser client: a Leptos (CSR) app compiled to wasm by Trunk.
//!
//! How the pieces fit:
//!
//! - `app` routes `/` to the landing page and `/d/{room}` to the editor.
//! - `components` holds one component per file; `DocumentView` wires a
//!   document page together.
//! - `editor` keeps the room's yrs document (the local replica), binds the
//!   title `<input>` and body `<textarea>` to its two `Text`s, and keeps a copy
//!   in IndexedDB so offline edits survive a reload.
//! - `net` owns the WebSocket and drives the shared `ClientSession` with it
//!   (the session does the `tandem.v1` handshake, the durable-save counter
//!   and the presence table); around it: sending each local transaction as
//!   one update frame, the heartbeat, presence throttling, recording frames
//!   for the inspector and reconnecting with backoff; and the small HTTP API
//!   (new protected document, download).
//! - `presence`: this person's name and colour, the coalescing of presence
//!   messages and the table of the others in the room.
//! - `history`: the version-history API and the line diff the History
//!   panel marks changes with.
//! - `links`: the share-links API and how a link reads in the Share popover.
//! - `authors`: who wrote what: the runs of one author each over the body,
//!   kept as people type, tinted in the editor and the preview.
//! - `inspector`: every frame the tab sent and received, classified for the
//!   frame inspector panel.
//! - `markdown`: the body's Markdown blocks as the page keeps them (shared by
//!   the highlighting, the preview and the outline), shortcuts, view modes
//!   and scroll sync; the Markdown itself is `tandem_shared::markdown`.
//! - `page`: the tab around the app (the key in the address, the title).
//! - `recent`, `storage`: what the page keeps in `localStorage`; `idb`: a
//!   small promise wrapper over IndexedDB; `listener`: DOM listeners removed on drop; `error`:
//!   the errors met at the edges.
//!
//! The wire protocol itself lives in `tandem_shared` and is never repeated
//! here.

// `#[component]` expands to `pub` items (the props builder) whatever the
// function's own visibility, which `unreachable_pub` flags.
#[allow(unreachable_pub)]
mod app;
mod authors;
#[allow(unreachable_pub)]
mod components;
mod editor;
mod error;
mod history;
mod idb;
mod inspector;
mod links;
mod listener;
mod markdown;
mod net;
mod page;
mod presence;
mod random;
mod recent;
mod storage;

pub use app::App;
