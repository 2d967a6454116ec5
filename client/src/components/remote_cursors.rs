//! Other people's carets and selections, drawn over the body `<textarea>`.
//!
//! A textarea cannot style ranges of its text, so this is the usual mirror
//! overlay: a `div` laid exactly over the textarea, with the same font,
//! padding and wrapping (shared CSS), holding the same text in transparent
//! ink, in which selections are tinted spans and carets are zero-width
//! markers with a name label. It ignores the pointer, follows the
//! textarea's scroll position and size, and is redrawn whenever the text
//! changes (anyone's edit) or someone's presence does, from cursors
//! resolved afresh against the current text.
//!
//! Name labels must not hide what people read: a label shows for a few
//! seconds after its caret moves (or its person is renamed or arrives),
//! then folds into a small flag on top of the caret, and shows again while
//! the pointer is over the caret. The fading is a CSS animation; as the
//! mirror is redrawn on every edit, each label's animation starts at the
//! time its caret moved (a negative `animation-delay`), not at the redraw.
//! Labels of carets close together are stacked apart so none covers
//! another.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use leptos::html::{Div, Textarea};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use tandem_shared::{ClientId, Cursor, PeerPresence};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::editor::{Piece, PlacedCursor, SharedDoc, overlay_layout};
use crate::presence::{PresenceTable, safe_color};

/// The overlay for the body.
#[component]
pub(crate) fn RemoteCursors(
    doc: Rc<SharedDoc>,
    peers: RwSignal<PresenceTable>,
    /// Bumped on every change of the body.
    content_version: RwSignal<u64>,
    /// The textarea to mirror.
    editor: NodeRef<Textarea>,
) -> impl IntoView {
    let mirror = NodeRef::<Div>::new();
    // Reactive children must be `Send`; the wrapper is only opened on this thread.
    let doc = SendWrapper::new(doc);
    let moves = SendWrapper::new(Rc::new(RefCell::new(Moves::default())));
    let pieces = move || {
        content_version.track();
        let placed: Vec<(PeerPresence, PlacedCursor)> = peers.with(|table| {
            table
                .peers()
                .filter_map(|peer| Some((peer.clone(), doc.place(peer.cursor.as_ref()?)?)))
                .collect()
        });
        if placed.is_empty() {
            return Vec::new();
        }
        let since = moves.borrow_mut().update(&placed, js_sys::Date::now());
        let text: Vec<u16> = doc.content().encode_utf16().collect();
        let cursors: Vec<PlacedCursor> = placed.iter().map(|(_, c)| c.clone()).collect();
        let mut views: Vec<AnyView> = overlay_layout(text.len(), &cursors)
            .into_iter()
            .map(|piece| match piece {
                Piece::Text { range, selected_by } => {
                    let mut view = String::from_utf16_lossy(&text[range]).into_any();
                    for &i in selected_by.iter().rev() {
                        let peer = &placed[i].0;
                        view = view! {
                            <span
                                class="remote-selection"
                                data-testid="remote-selection"
                                data-client-id=peer.client_id.to_string()
                                data-name=peer.name.clone()
                                style=format!("--peer: {}", safe_color(&peer.color))
                            >
                                {view}
                            </span>
                        }
                        .into_any();
                    }
                    view
                }
                Piece::Caret(i) => {
                    let (peer, at) = &placed[i];
                    view! {
                        <span
                            class="remote-caret"
                            data-testid="remote-caret"
                            data-client-id=peer.client_id.to_string()
                            data-name=peer.name.clone()
                            data-offset=at.head.min(text.len()).to_string()
                            style=format!("--peer: {}", safe_color(&peer.color))
                        >
                            <span
                                class="remote-caret-label"
                                style=format!("animation-delay: -{}ms", since[i])
                            >
                                {peer.name.clone()}
                            </span>
                        </span>
                    }
                    .into_any()
                }
            })
            .collect();
        // A final line break only makes a line in the mirror with something after it.
        if text.last() == Some(&u16::from(b'\n')) {
            views.push("\u{200B}".into_any());
        }
        views
    };

    // After each redraw (effects run once the DOM is updated), line up
    // with the textarea again.
    Effect::new(move |_| {
        content_version.track();
        peers.track();
        align(editor, mirror);
    });

    // Follow the textarea's scrolling and size.
    let scroll = Closure::<dyn FnMut()>::new(move || align(editor, mirror));
    let resize = Closure::<dyn FnMut()>::new(move || align(editor, mirror));
    // The mirror ignores the pointer, so hovering a caret is found here.
    let hover = Closure::<dyn FnMut(web_sys::MouseEvent)>::new(move |ev: web_sys::MouseEvent| {
        if let Some(mirror) = mirror.get_untracked() {
            mark_hovered(
                &mirror,
                Some((f64::from(ev.client_x()), f64::from(ev.client_y()))),
            );
        }
    });
    let leave = Closure::<dyn FnMut()>::new(move || {
        if let Some(mirror) = mirror.get_untracked() {
            mark_hovered(&mirror, None);
        }
    });
    let observer = web_sys::ResizeObserver::new(resize.as_ref().unchecked_ref()).ok();
    let listeners = SendWrapper::new(Rc::new((scroll, resize, observer, hover, leave)));
    let attach = listeners.clone();
    editor.on_load(move |textarea| {
        let (scroll, _, observer, hover, leave) = &**attach;
        let _ =
            textarea.add_event_listener_with_callback("scroll", scroll.as_ref().unchecked_ref());
        let _ =
            textarea.add_event_listener_with_callback("mousemove", hover.as_ref().unchecked_ref());
        let _ =
            textarea.add_event_listener_with_callback("mouseleave", leave.as_ref().unchecked_ref());
        if let Some(observer) = observer {
            observer.observe(&textarea);
        }
        align(editor, mirror);
    });
    // `on_cleanup` wants `Send`; the wrapper is only opened on this thread.
    on_cleanup(move || {
        let (scroll, resize, observer, hover, leave) = &**listeners;
        if let Some(textarea) = editor.get_untracked() {
            let _ = textarea
                .remove_event_listener_with_callback("scroll", scroll.as_ref().unchecked_ref());
            let _ = textarea
                .remove_event_listener_with_callback("mousemove", hover.as_ref().unchecked_ref());
            let _ = textarea
                .remove_event_listener_with_callback("mouseleave", leave.as_ref().unchecked_ref());
        }
        if let Some(observer) = observer {
            observer.disconnect();
        }
        let _ = resize;
    });

    view! {
        <div class="editor-mirror editor-text" node_ref=mirror aria-hidden="true">
            {pieces}
        </div>
    }
}

/// Gives the mirror the textarea's inner size (without its scrollbar, with
/// fractions, so lines wrap at the same place) and scroll position.
fn align(editor: NodeRef<Textarea>, mirror: NodeRef<Div>) {
    let (Some(textarea), Some(mirror)) = (editor.get_untracked(), mirror.get_untracked()) else {
        return;
    };
    let rect = textarea.get_bounding_client_rect();
    let scrollbar = f64::from(textarea.offset_width() - textarea.client_width());
    let style = web_sys::HtmlElement::style(&mirror);
    let _ = style.set_property("width", &css_px((rect.width() - scrollbar).max(0.0)));
    let _ = style.set_property("height", &format!("{}px", textarea.client_height()));
    mirror.set_scroll_top(textarea.scroll_top());
    mirror.set_scroll_left(textarea.scroll_left());
    flip_labels(&mirror);
    stack_labels(&mirror);
}

/// A CSS length in pixels, fractions kept, e.g. `"612.5px"`.
///
/// The number is written by JavaScript (`Number.prototype.toString`), not by
/// `format!`: Rust's float formatting is about 20 KB of wasm that nothing
/// else in the client needs, and both print the shortest exact form.
fn css_px(px: f64) -> String {
    let number = js_sys::Number::from(px)
        .to_string_with_radix(10)
        .map_or_else(|_| String::from("0"), String::from);
    number + "px"
}

/// When each person's caret last moved, to time their label.
#[derive(Default)]
struct Moves {
    /// Per person: the cursor and name last seen, and when they changed
    /// (milliseconds since the epoch).
    seen: HashMap<ClientId, (Option<Cursor>, String, f64)>,
}

impl Moves {
    /// Notes who moved; returns, per placed peer, the milliseconds since
    /// their caret moved. People gone are forgotten.
    fn update(&mut self, placed: &[(PeerPresence, PlacedCursor)], now: f64) -> Vec<u64> {
        self.seen
            .retain(|id, _| placed.iter().any(|(p, _)| p.client_id == *id));
        placed
            .iter()
            .map(|(peer, _)| {
                let entry = self
                    .seen
                    .entry(peer.client_id)
                    .or_insert_with(|| (None, String::new(), now));
                if entry.0 != peer.cursor || entry.1 != peer.name {
                    *entry = (peer.cursor.clone(), peer.name.clone(), now);
                }
                (now - entry.2).max(0.0) as u64
            })
            .collect()
    }
}

/// How close (CSS pixels) the pointer must come to a caret to show its label.
const HOVER_SLOP: f64 = 6.0;

/// Marks the caret under the pointer at `at` (viewport coordinates) as
/// hovered, and no other.
fn mark_hovered(mirror: &web_sys::HtmlDivElement, at: Option<(f64, f64)>) {
    let Ok(carets) = mirror.query_selector_all(".remote-caret") else {
        return;
    };
    for caret in
        (0..carets.length()).filter_map(|i| carets.item(i)?.dyn_into::<web_sys::Element>().ok())
    {
        let r = caret.get_bounding_client_rect();
        let over = at.is_some_and(|(x, y)| {
            x >= r.left() - HOVER_SLOP
                && x <= r.right() + HOVER_SLOP
                && y >= r.top()
                && y <= r.bottom()
        });
        let _ = caret.class_list().toggle_with_force("is-hovered", over);
    }
}

/// Labels that would cover one another are lifted, each by one label
/// height more than the one it would cover (`--stack` in the stylesheet).
fn stack_labels(mirror: &web_sys::HtmlDivElement) {
    let Ok(labels) = mirror.query_selector_all(".remote-caret-label") else {
        return;
    };
    let labels: Vec<web_sys::HtmlElement> = (0..labels.length())
        .filter_map(|i| labels.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    for label in &labels {
        let _ = label.style().remove_property("--stack");
    }
    // Measured unlifted, then placed one by one against those placed.
    let rects: Vec<(f64, f64, f64, f64)> = labels
        .iter()
        .map(|l| {
            let r = l.get_bounding_client_rect();
            (r.left(), r.right(), r.top(), r.bottom())
        })
        .collect();
    let mut placed: Vec<(f64, f64, f64, f64)> = Vec::new();
    for (label, &(left, right, top, bottom)) in labels.iter().zip(&rects) {
        let step = bottom - top + 2.0;
        let mut level = 0u32;
        let lifted = |level: u32| {
            let dy = step * f64::from(level);
            (left, right, top - dy, bottom - dy)
        };
        while level < 8 && placed.iter().any(|p| overlaps(*p, lifted(level))) {
            level += 1;
        }
        placed.push(lifted(level));
        if level > 0 {
            let _ = label.style().set_property("--stack", &level.to_string());
        }
    }
}

fn overlaps(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.1 && b.0 < a.1 && a.2 < b.3 && b.2 < a.3
}

/// Name labels that would be cut off by the right edge hang to the left of
/// their caret instead.
fn flip_labels(mirror: &web_sys::HtmlDivElement) {
    const LABEL: &str = "remote-caret-label";
    let Ok(labels) = mirror.query_selector_all(".remote-caret-label") else {
        return;
    };
    let edge = mirror.get_bounding_client_rect().right();
    for label in
        (0..labels.length()).filter_map(|i| labels.item(i)?.dyn_into::<web_sys::Element>().ok())
    {
        label.set_class_name(LABEL);
        if label.get_bounding_client_rect().right() > edge {
            label.set_class_name(&format!("{LABEL} is-flipped"));
        }
    }
}
