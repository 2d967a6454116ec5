//! Replacing only the blocks that changed: a container of the page (the
//! editor's highlight layer, the preview) holds one element per block of
//! the document, marked with the block's id (`data-block`). Ids change
//! exactly when a block's content or rendering does, and blocks never
//! change order, so one walk over both lists keeps every element whose id
//! is still there and makes elements only for new ids.

use std::collections::HashSet;

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// Makes the block elements of `container` match `ids`. A new block's element is a `tag` with
/// class `class` whose inner HTML is `html(index)`. Returns the elements
/// made, with the index of their block.
pub(crate) fn reconcile(
    container: &Element,
    ids: &[u64],
    tag: &str,
    class: &str,
    mut html: impl FnMut(usize) -> String,
) -> Vec<(usize, HtmlElement)> {
    let Some(document) = container.owner_document() else {
        return Vec::new();
    };
    let existing = block_children(container);
    let mut made = Vec::new();
    if existing.is_empty() {
        // The first render: one parse of the whole markup is much faster
        // than an element per block.
        let mut all = String::new();
        for (i, id) in ids.iter().enumerate() {
            all.push_str(&format!("<{tag} class=\"{class}\" data-block=\"{id}\">"));
            all.push_str(&html(i));
            all.push_str(&format!("</{tag}>"));
        }
        container.set_inner_html(&all);
        return block_children(container)
            .into_iter()
            .enumerate()
            .filter_map(|(i, (_, el))| Some((i, el.dyn_into::<HtmlElement>().ok()?)))
            .collect();
    }
    let wanted: HashSet<u64> = ids.iter().copied().collect();
    let mut at = 0;
    for (i, id) in ids.iter().enumerate() {
        while at < existing.len() && !wanted.contains(&existing[at].0) {
            existing[at].1.remove();
            at += 1;
        }
        if at < existing.len() && existing[at].0 == *id {
            at += 1;
            continue;
        }
        let Ok(element) = document.create_element(tag) else {
            continue;
        };
        element.set_class_name(class);
        let _ = element.set_attribute("data-block", &id.to_string());
        element.set_inner_html(&html(i));
        let before = existing.get(at).map(|(_, el)| el.clone());
        let _ = container.insert_before(&element, before.as_ref().map(|el| el.as_ref()));
        if let Ok(element) = element.dyn_into::<HtmlElement>() {
            made.push((i, element));
        }
    }
    for (_, stale) in &existing[at..] {
        stale.remove();
    }
    made
}

/// The block elements of `container`, with their ids, in order.
pub(crate) fn block_children(container: &Element) -> Vec<(u64, Element)> {
    let children = container.children();
    (0..children.length())
        .filter_map(|i| {
            let child = children.item(i)?;
            let id = child.get_attribute("data-block")?.parse().ok()?;
            Some((id, child))
        })
        .collect()
}
