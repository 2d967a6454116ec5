//! Other people's carets and selections, drawn over the body `<textarea>`.
//!
//! A textarea cannot style ranges of its text, so this draws over it: an
//! overlay in the editor's grid cell (it scrolls with the text, natively)
//! holding, per person, a caret mark with a name label and up to three
//! tinted boxes for a selection (`crate::editor::overlay` decides their
//! shape). Where a character is on screen is measured in the highlight
//! layer under the textarea, which holds the same characters with the same
//! metrics, one element per block: a caret costs one `Range` over one
//! character of one block, never a second copy of the whole text.
//!
//! Placing reads layout, so it never runs inside an edit: a change of the
//! text, of someone's presence or of the editor's size asks for one
//! placement at the next animation frame, which reads everything it needs
//! first (the frame lays the page out once for it) and then only writes
//! transforms, sizes and classes. Several changes in one frame cost one
//! placement.
//!
//! Name labels must not hide what people read: a label shows for a few
//! seconds after its caret moves (or its person is renamed or arrives),
//! then folds into a small flag on top of the caret, and shows again while
//! the pointer is over the caret. The fading is a CSS animation that starts
//! when the label element is made, and one is made whenever its caret
//! moves. Labels of carets close together are stacked apart so none covers
//! another, and a label that would cross the right edge hangs to the left.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use leptos::html::{Div, Textarea};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use tandem_shared::{ClientId, Cursor, PeerPresence};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Document, HtmlElement};

use crate::editor::SharedDoc;
use crate::editor::overlay::{
    Label, PlacedCursor, Rect, is_over, locate, place_labels, selection_boxes,
};
use crate::listener::EventListener;
use crate::markdown::MarkdownState;
use crate::presence::{PresenceTable, safe_color};

/// The overlay for the body.
#[component]
pub(crate) fn RemoteCursors(
    doc: Rc<SharedDoc>,
    peers: RwSignal<PresenceTable>,
    /// Bumped on every change of the body.
    content_version: RwSignal<u64>,
    /// The textarea drawn over (its pointer moves show labels).
    editor: NodeRef<Textarea>,
    /// The body's blocks and the highlight layer's elements for them.
    markdown: MarkdownState,
) -> impl IntoView {
    let overlay = NodeRef::<Div>::new();
    // Reactive closures must be `Send`; the wrapper is only opened on this thread.
    let marks = SendWrapper::new(Rc::new(Marks {
        doc,
        peers,
        content_version,
        markdown,
        overlay: RefCell::new(None),
        shown: RefCell::new(HashMap::new()),
        scheduled: Cell::new(false),
        frame: RefCell::new(None),
    }));

    // Anything that moves a caret asks for one placement.
    Effect::new({
        let marks = marks.clone();
        move |_| {
            content_version.track();
            peers.track();
            Marks::schedule(&marks);
        }
    });

    // So does a change of the editor's size (wrapping moves characters).
    let resize = {
        let marks = marks.clone();
        SendWrapper::new(Closure::<dyn FnMut()>::new(move || Marks::schedule(&marks)))
    };
    let observer =
        SendWrapper::new(web_sys::ResizeObserver::new(resize.as_ref().unchecked_ref()).ok());
    let listeners = SendWrapper::new(Rc::new(RefCell::new(Vec::<EventListener>::new())));
    {
        let marks = marks.clone();
        let observer = observer.clone();
        overlay.on_load(move |element| {
            *marks.overlay.borrow_mut() = Some(element.clone().into());
            if let Some(observer) = &*observer {
                observer.observe(&element);
            }
            Marks::schedule(&marks);
        });
    }
    {
        // The overlay ignores the pointer, so hovering a caret is found here.
        let marks = marks.clone();
        let listeners = listeners.clone();
        editor.on_load(move |textarea| {
            let hover = {
                let marks = Rc::clone(&marks);
                move |ev: web_sys::Event| {
                    if let Some(ev) = ev.dyn_ref::<web_sys::MouseEvent>() {
                        marks.hover(Some((f64::from(ev.client_x()), f64::from(ev.client_y()))));
                    }
                }
            };
            let leave = {
                let marks = Rc::clone(&marks);
                move |_| marks.hover(None)
            };
            let mut listeners = listeners.borrow_mut();
            listeners.extend(EventListener::new(&textarea, "mousemove", hover));
            listeners.extend(EventListener::new(&textarea, "mouseleave", leave));
        });
    }
    on_cleanup(move || {
        if let Some(observer) = &*observer {
            observer.disconnect();
        }
        listeners.borrow_mut().clear();
        marks.overlay.borrow_mut().take();
        marks.frame.borrow_mut().take();
        let _ = &resize;
    });

    view! { <div class="editor-carets" node_ref=overlay aria-hidden="true"></div> }
}

/// What the overlay shows and what it needs to place it.
struct Marks {
    /// Where cursors resolve to offsets.
    doc: Rc<SharedDoc>,
    /// The others in the room.
    peers: RwSignal<PresenceTable>,
    /// The body's version, to bring the Markdown blocks up to date.
    content_version: RwSignal<u64>,
    /// The blocks, and the highlight layer's elements for them.
    markdown: MarkdownState,
    /// The overlay element, while mounted.
    overlay: RefCell<Option<HtmlElement>>,
    /// Each person's marks.
    shown: RefCell<HashMap<ClientId, PeerMarks>>,
    /// A placement is asked for at the next animation frame.
    scheduled: Cell<bool>,
    /// The callback of that frame (kept alive until it runs).
    frame: RefCell<Option<Closure<dyn FnMut()>>>,
}

/// One person's marks in the overlay.
struct PeerMarks {
    /// The caret (`data-testid="remote-caret"`), holding the label.
    caret: HtmlElement,
    /// The name label; made again whenever the caret moves, which starts
    /// its fading animation.
    label: HtmlElement,
    /// The selection's boxes (none for a plain caret).
    selections: Vec<HtmlElement>,
    /// The name, colour and cursor drawn, to see what changed.
    name: String,
    color: String,
    cursor: Option<Cursor>,
    /// The caret's box in the overlay's coordinates, for hovering.
    at: Rect,
}

impl Marks {
    /// Asks for one placement at the next animation frame.
    fn schedule(this: &Rc<Self>) {
        if this.scheduled.replace(true) {
            return;
        }
        let me = Rc::clone(this);
        let callback = Closure::<dyn FnMut()>::new(move || {
            me.scheduled.set(false);
            me.frame.borrow_mut().take();
            me.place();
        });
        let asked =
            web_sys::window().map(|w| w.request_animation_frame(callback.as_ref().unchecked_ref()));
        if matches!(asked, Some(Ok(_))) {
            *this.frame.borrow_mut() = Some(callback);
        } else {
            this.scheduled.set(false);
        }
    }

    /// Draws everyone's marks where their text is now.
    fn place(&self) {
        let Some(overlay) = self.overlay.borrow().clone() else {
            return;
        };
        let Some(document) = overlay.owner_document() else {
            return;
        };
        let Some(placed) = self.peers.try_with_untracked(|table| {
            table
                .peers()
                .filter_map(|peer| Some((peer.clone(), self.doc.place(peer.cursor.as_ref()?)?)))
                .collect::<Vec<(PeerPresence, PlacedCursor)>>()
        }) else {
            return;
        };
        self.forget_others(&placed);
        if placed.is_empty() {
            return;
        }
        // Writes first: marks for newcomers, labels for carets that moved.
        for (peer, _) in &placed {
            self.update_marks(&document, &overlay, peer);
        }
        // Then every read.
        if let Some(version) = self.content_version.try_get_untracked() {
            self.markdown.sync(version, || self.doc.content());
        }
        let Some(Some(geometry)) = self.markdown.with(|md| {
            let lens: Vec<usize> = md.blocks().iter().map(|b| b.utf16_len).collect();
            let ids: Vec<u64> = md.blocks().iter().map(|b| b.id).collect();
            let ends_with_newline = md.text().ends_with('\n');
            self.markdown.layer().with(|elements| {
                // The layer shows an older version: the next placement will do.
                if elements.len() != ids.len()
                    || elements
                        .iter()
                        .zip(&ids)
                        .any(|((shown, _), id)| shown != id)
                {
                    return None;
                }
                let layer = Layer {
                    document: &document,
                    elements,
                    lens: &lens,
                    ends_with_newline,
                    overlay: &overlay,
                };
                Some(measure(&layer, &overlay, &placed, &self.shown.borrow()))
            })?
        }) else {
            return;
        };
        // Then writes only.
        let places = place_labels(&geometry.labels, geometry.edge);
        let mut shown = self.shown.borrow_mut();
        for (((peer, cursor), measured), label_place) in
            placed.iter().zip(&geometry.carets).zip(&places)
        {
            let Some(marks) = shown.get_mut(&peer.client_id) else {
                continue;
            };
            let total = geometry.text_len;
            let _ = marks
                .caret
                .set_attribute("data-offset", &cursor.head.min(total).to_string());
            marks.at = measured.caret;
            let style = marks.caret.style();
            let _ = style.set_property(
                "transform",
                &translate(measured.caret.left, measured.caret.top),
            );
            let _ = style.set_property(
                "height",
                &css_px(measured.caret.bottom - measured.caret.top),
            );
            let _ = marks
                .label
                .class_list()
                .toggle_with_force("is-flipped", label_place.flipped);
            if label_place.level > 0 {
                let _ = marks
                    .label
                    .style()
                    .set_property("--stack", &label_place.level.to_string());
            } else {
                let _ = marks.label.style().remove_property("--stack");
            }
            marks.show_selection(&document, &overlay, peer, &measured.selection);
        }
    }

    /// Removes the marks of people who left or whose caret cannot be placed.
    fn forget_others(&self, placed: &[(PeerPresence, PlacedCursor)]) {
        self.shown.borrow_mut().retain(|id, marks| {
            let stays = placed.iter().any(|(peer, _)| peer.client_id == *id);
            if !stays {
                marks.remove();
            }
            stays
        });
    }

    /// Makes `peer`'s marks if they are new, and a fresh label if the caret
    /// moved or the person was renamed.
    fn update_marks(&self, document: &Document, overlay: &HtmlElement, peer: &PeerPresence) {
        let mut shown = self.shown.borrow_mut();
        let color = safe_color(&peer.color);
        match shown.get_mut(&peer.client_id) {
            Some(marks) => {
                if marks.color != color {
                    set_peer_color(&marks.caret, color);
                    for selection in &marks.selections {
                        set_peer_color(selection, color);
                    }
                    marks.color = color.to_owned();
                }
                if marks.name != peer.name || marks.cursor != peer.cursor {
                    let _ = marks.caret.set_attribute("data-name", &peer.name);
                    for selection in &marks.selections {
                        let _ = selection.set_attribute("data-name", &peer.name);
                    }
                    if let Some(label) = make_label(document, &peer.name) {
                        let _ = marks.caret.replace_child(&label, &marks.label);
                        marks.label = label;
                    }
                    marks.name = peer.name.clone();
                    marks.cursor = peer.cursor.clone();
                }
            }
            None => {
                let Some(caret) = make(document, "span", "remote-caret", "remote-caret", peer)
                else {
                    return;
                };
                let Some(label) = make_label(document, &peer.name) else {
                    return;
                };
                let _ = caret.append_child(&label);
                let _ = overlay.append_child(&caret);
                shown.insert(
                    peer.client_id,
                    PeerMarks {
                        caret,
                        label,
                        selections: Vec::new(),
                        name: peer.name.clone(),
                        color: color.to_owned(),
                        cursor: peer.cursor.clone(),
                        at: Rect::default(),
                    },
                );
            }
        }
    }

    /// Shows the label of the caret under the pointer at (`x`, `y`)
    /// (viewport coordinates), and no other.
    fn hover(&self, at: Option<(f64, f64)>) {
        let Some(overlay) = self.overlay.borrow().clone() else {
            return;
        };
        let shown = self.shown.borrow();
        if shown.is_empty() {
            return;
        }
        let origin = overlay.get_bounding_client_rect();
        for marks in shown.values() {
            let over =
                at.is_some_and(|(x, y)| is_over(&marks.at, x - origin.left(), y - origin.top()));
            let _ = marks
                .caret
                .class_list()
                .toggle_with_force("is-hovered", over);
        }
    }
}

impl PeerMarks {
    /// Draws the selection as `boxes` (overlay coordinates), reusing the
    /// boxes already there.
    fn show_selection(
        &mut self,
        document: &Document,
        overlay: &HtmlElement,
        peer: &PeerPresence,
        boxes: &[Rect],
    ) {
        while self.selections.len() > boxes.len() {
            if let Some(extra) = self.selections.pop() {
                extra.remove();
            }
        }
        while self.selections.len() < boxes.len() {
            let Some(element) = make(
                document,
                "div",
                "remote-selection",
                "remote-selection",
                peer,
            ) else {
                return;
            };
            let _ = overlay.insert_before(&element, overlay.first_child().as_ref());
            self.selections.push(element);
        }
        for (element, rect) in self.selections.iter().zip(boxes) {
            let style = element.style();
            let _ = style.set_property("transform", &translate(rect.left, rect.top));
            let _ = style.set_property("width", &css_px(rect.right - rect.left));
            let _ = style.set_property("height", &css_px(rect.bottom - rect.top));
        }
    }

    fn remove(&self) {
        self.caret.remove();
        for selection in &self.selections {
            selection.remove();
        }
    }
}

/// The highlight layer as placement reads it.
struct Layer<'a> {
    document: &'a Document,
    /// Its block elements, in order (the same blocks as `lens`).
    elements: &'a [(u64, HtmlElement)],
    /// Each block's length in UTF-16 units.
    lens: &'a [usize],
    /// The text ends with a line break (one more, empty line).
    ends_with_newline: bool,
    /// The overlay, beside the layer in the editor's grid.
    overlay: &'a HtmlElement,
}

/// What one placement measured, in the overlay's coordinates.
struct Geometry {
    /// Per placed person: their caret and selection boxes.
    carets: Vec<Measured>,
    /// Per placed person: their label, for [`place_labels`].
    labels: Vec<Label>,
    /// The right edge labels must not cross.
    edge: f64,
    /// The text's length in UTF-16 units.
    text_len: usize,
}

/// One person's measured marks.
struct Measured {
    caret: Rect,
    selection: Vec<Rect>,
}

/// Reads where every caret, selection and label goes.
fn measure(
    layer: &Layer<'_>,
    overlay: &HtmlElement,
    placed: &[(PeerPresence, PlacedCursor)],
    shown: &HashMap<ClientId, PeerMarks>,
) -> Geometry {
    let origin = overlay.get_bounding_client_rect();
    let (dx, dy) = (-origin.left(), -origin.top());
    let text_len: usize = layer.lens.iter().sum();
    // The text's left and right edges: every block is as wide as the text.
    let (left, right) = layer
        .elements
        .first()
        .map(|(_, el)| {
            let r = el.get_bounding_client_rect();
            (r.left() + dx, r.right() + dx)
        })
        .unwrap_or((0.0, origin.width()));
    let mut carets = Vec::with_capacity(placed.len());
    let mut labels = Vec::with_capacity(placed.len());
    for (peer, cursor) in placed {
        let head = cursor.head.min(text_len);
        let caret = caret_box(layer, head).unwrap_or_default().moved(dx, dy);
        let range = cursor.selection();
        let selection = if range.is_empty() {
            Vec::new()
        } else {
            let start = caret_box(layer, range.start.min(text_len)).map(|r| r.moved(dx, dy));
            let end = caret_box(layer, range.end.min(text_len)).map(|r| r.moved(dx, dy));
            match (start, end) {
                (Some(start), Some(end)) => selection_boxes(start, end, left, right),
                _ => Vec::new(),
            }
        };
        let (width, height) = shown.get(&peer.client_id).map_or((0.0, 0.0), |marks| {
            let r = marks.label.get_bounding_client_rect();
            (r.width(), r.height())
        });
        labels.push(Label {
            caret,
            width,
            height,
        });
        carets.push(Measured { caret, selection });
    }
    Geometry {
        carets,
        labels,
        edge: origin.width(),
        text_len,
    }
}

/// The caret box at UTF-16 offset `offset` of the layer's text (viewport
/// coordinates): the left edge of the character there (a line break has a
/// box too, of no width, where its line ends), or after the last one.
fn caret_box(layer: &Layer<'_>, offset: usize) -> Option<Rect> {
    let Some((block, within)) = locate(layer.lens, offset) else {
        return end_box(layer);
    };
    let (_, element) = layer.elements.get(block)?;
    let (node, at) = text_at(element, within)?;
    let r = char_rect(layer.document, &node, at)?;
    Some(Rect { right: r.left, ..r })
}

/// The caret box after the last character of the text.
fn end_box(layer: &Layer<'_>) -> Option<Rect> {
    let Some((_, last)) = layer.elements.last() else {
        return empty_box(layer);
    };
    let len = *layer.lens.last()?;
    let (node, mut at) = text_at(last, len.checked_sub(1)?)?;
    // The last character may be the second half of a surrogate pair.
    if at > 0 && (0xDC00..0xE000).contains(&char_code(&node, at)) {
        at -= 1;
    }
    let r = char_rect(layer.document, &node, at)?;
    if !layer.ends_with_newline {
        return Some(Rect { left: r.right, ..r });
    }
    // After a final line break: the start of the empty line below.
    let line = line_height(last).unwrap_or(r.bottom - r.top);
    let left = last.get_bounding_client_rect().left();
    Some(Rect {
        left,
        right: left,
        top: r.top + line,
        bottom: r.bottom + line,
    })
}

/// The caret box of an empty text: the start of the layer's first line.
fn empty_box(layer: &Layer<'_>) -> Option<Rect> {
    let container = layer
        .overlay
        .parent_element()?
        .query_selector(".editor-highlight")
        .ok()??;
    let style = web_sys::window()?.get_computed_style(&container).ok()??;
    let px = |name: &str| {
        style
            .get_property_value(name)
            .ok()
            .map(|v| js_sys::parse_float(&v))
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
    };
    let r = container.get_bounding_client_rect();
    let (font, line) = (px("font-size"), px("line-height"));
    let left = r.left() + px("padding-left");
    let top = r.top() + px("padding-top") + (line - font * 1.2).max(0.0) / 2.0;
    Some(Rect {
        left,
        right: left,
        top,
        bottom: top + font * 1.2,
    })
}

/// A block's line height in pixels.
fn line_height(block: &HtmlElement) -> Option<f64> {
    let style = web_sys::window()?.get_computed_style(block).ok()??;
    let value = js_sys::parse_float(&style.get_property_value("line-height").ok()?);
    value.is_finite().then_some(value)
}

/// The text node of `block` holding its UTF-16 offset `within`, and the
/// offset in that node (the block's text nodes in document order).
fn text_at(block: &HtmlElement, within: usize) -> Option<(web_sys::Text, u32)> {
    let mut left = within as u32;
    let mut node = block.first_child();
    while let Some(current) = node {
        if let Some(text) = current.dyn_ref::<web_sys::Text>() {
            let len = text.length();
            if left < len {
                return Some((text.clone(), left));
            }
            left -= len;
        }
        // Depth first: into the children, else on to the next sibling of
        // the nearest ancestor that has one (inside the block).
        node = match current.first_child() {
            Some(child) => Some(child),
            None => {
                let mut up = Some(current);
                loop {
                    let Some(at) = up else { break None };
                    if at.is_same_node(Some(block)) {
                        break None;
                    }
                    if let Some(next) = at.next_sibling() {
                        break Some(next);
                    }
                    up = at.parent_node();
                }
            }
        };
    }
    None
}

/// The UTF-16 unit at `at` in `node` (0 past its end). The node's text
/// stays in JavaScript.
fn char_code(node: &web_sys::Text, at: u32) -> u32 {
    js_sys::Reflect::get(node, &wasm_bindgen::JsValue::from_str("data"))
        .ok()
        .and_then(|data| data.dyn_into::<js_sys::JsString>().ok())
        .map_or(0, |data| {
            let code = data.char_code_at(at);
            if code.is_nan() { 0 } else { code as u32 }
        })
}

/// The box of the character at `at` in `node` (both halves of a surrogate
/// pair), in viewport coordinates.
fn char_rect(document: &Document, node: &web_sys::Text, at: u32) -> Option<Rect> {
    let range = document.create_range().ok()?;
    let high = (0xD800..0xDC00).contains(&char_code(node, at));
    let end = (at + if high { 2 } else { 1 }).min(node.length());
    range.set_start(node, at).ok()?;
    range.set_end(node, end).ok()?;
    let r = range.get_bounding_client_rect();
    Some(Rect {
        left: r.left(),
        top: r.top(),
        right: r.right(),
        bottom: r.bottom(),
    })
}

/// A mark of `peer`'s: a `tag` with `class`, its `data-testid`, the person
/// it belongs to and their colour.
fn make(
    document: &Document,
    tag: &str,
    class: &str,
    testid: &str,
    peer: &PeerPresence,
) -> Option<HtmlElement> {
    let element: HtmlElement = document.create_element(tag).ok()?.dyn_into().ok()?;
    element.set_class_name(class);
    let _ = element.set_attribute("data-testid", testid);
    let _ = element.set_attribute("data-client-id", &peer.client_id.to_string());
    let _ = element.set_attribute("data-name", &peer.name);
    set_peer_color(&element, safe_color(&peer.color));
    Some(element)
}

/// A fresh name label (its fading starts now).
fn make_label(document: &Document, name: &str) -> Option<HtmlElement> {
    let label: HtmlElement = document.create_element("span").ok()?.dyn_into().ok()?;
    label.set_class_name("remote-caret-label");
    label.set_text_content(Some(name));
    Some(label)
}

fn set_peer_color(element: &HtmlElement, color: &str) {
    let _ = element.style().set_property("--peer", color);
}

/// `translate(<x>px, <y>px)`.
fn translate(x: f64, y: f64) -> String {
    format!("translate({}, {})", css_px(x), css_px(y))
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
