//! Replacing only the blocks that changed: a container of the page (the
//! editor's highlight layer, the preview) holds one element per block of
//! the document, marked with the block's id (`data-block`). Ids change
//! exactly when a block's content or rendering does, and blocks never
//! change order, so one walk over both lists keeps every element whose id
//! is still there and makes elements only for new ids.
//!
//! [`BlockElements`] remembers what it placed, so an edit costs DOM calls
//! for the blocks it changed only: nothing reads the container's children
//! back (the paper's 251 blocks cost two DOM calls each per keystroke when
//! they were read back), and the scroll sync and the remote carets find a
//! block's element without a query.

use std::collections::HashSet;

use leptos::prelude::{LocalStorage, SetValue, StoredValue, UpdateValue, WithValue};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// What [`plan`] says to do with one wanted block, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The element shown at this index of the old list stays.
    Keep(usize),
    /// The block at this index of the wanted list needs a new element.
    Make(usize),
}

/// How to turn the elements of `shown` (ids, in order) into those of
/// `wanted`: one step per wanted block; every shown element no step keeps
/// is removed. Both lists keep their order, so this is one walk.
pub(crate) fn plan(shown: &[u64], wanted: &[u64]) -> Vec<Step> {
    let still: HashSet<u64> = wanted.iter().copied().collect();
    let mut steps = Vec::with_capacity(wanted.len());
    let mut at = 0;
    for (i, id) in wanted.iter().enumerate() {
        while at < shown.len() && !still.contains(&shown[at]) {
            at += 1;
        }
        if at < shown.len() && shown[at] == *id {
            steps.push(Step::Keep(at));
            at += 1;
        } else {
            steps.push(Step::Make(i));
        }
    }
    steps
}

/// The block elements of one container, in order, with their ids: what
/// [`BlockElements::reconcile`] put there last. A small `Copy` handle; the
/// elements stay on this thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockElements {
    /// (block id, its element), in document order.
    shown: StoredValue<Vec<(u64, HtmlElement)>, LocalStorage>,
}

impl BlockElements {
    pub(crate) fn new() -> Self {
        Self {
            shown: StoredValue::new_local(Vec::new()),
        }
    }

    /// Makes the block elements of `container` match `ids`. A new block's
    /// element is a `tag` with class `class` whose inner HTML is
    /// `html(index)`. Returns the elements made, with the index of their
    /// block.
    pub(crate) fn reconcile(
        &self,
        container: &Element,
        ids: &[u64],
        tag: &str,
        class: &str,
        mut html: impl FnMut(usize) -> String,
    ) -> Vec<(usize, HtmlElement)> {
        let Some(document) = container.owner_document() else {
            return Vec::new();
        };
        let shown = self
            .shown
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        // A container mounted again (the preview shown again) starts empty.
        let fresh = shown.first().is_none_or(|(_, el)| !is_child(el, container));
        if fresh {
            // The first render: one parse of the whole markup is much faster
            // than an element per block.
            let mut all = String::new();
            for (i, id) in ids.iter().enumerate() {
                all.push_str(&format!("<{tag} class=\"{class}\" data-block=\"{id}\">"));
                all.push_str(&html(i));
                all.push_str(&format!("</{tag}>"));
            }
            container.set_inner_html(&all);
            let children = container.children();
            let placed: Vec<(u64, HtmlElement)> = ids
                .iter()
                .enumerate()
                .filter_map(|(i, id)| {
                    let child = children.item(i as u32)?.dyn_into::<HtmlElement>().ok()?;
                    Some((*id, child))
                })
                .collect();
            let made = placed
                .iter()
                .enumerate()
                .map(|(i, (_, el))| (i, el.clone()))
                .collect();
            self.shown.set_value(placed);
            return made;
        }
        let shown_ids: Vec<u64> = shown.iter().map(|(id, _)| *id).collect();
        let steps = plan(&shown_ids, ids);
        let mut kept = vec![false; shown.len()];
        for step in &steps {
            if let Step::Keep(at) = step {
                kept[*at] = true;
            }
        }
        for ((_, element), kept) in shown.iter().zip(&kept) {
            if !*kept {
                element.remove();
            }
        }
        let mut placed = Vec::with_capacity(ids.len());
        let mut made = Vec::new();
        // The element the next new one goes before: the next kept one.
        let kept_order: Vec<usize> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Keep(at) => Some(*at),
                Step::Make(_) => None,
            })
            .collect();
        let mut next_kept = kept_order.into_iter();
        let mut before = next_kept.next();
        for step in steps {
            match step {
                Step::Keep(at) => {
                    placed.push(shown[at].clone());
                    before = next_kept.next();
                }
                Step::Make(i) => {
                    let Some(element) = document
                        .create_element(tag)
                        .ok()
                        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
                    else {
                        continue;
                    };
                    element.set_class_name(class);
                    let _ = element.set_attribute("data-block", &ids[i].to_string());
                    element.set_inner_html(&html(i));
                    let anchor = before.map(|at| &shown[at].1);
                    let _ = container.insert_before(
                        &element,
                        anchor.map(|el| el.unchecked_ref::<web_sys::Node>()),
                    );
                    placed.push((ids[i], element.clone()));
                    made.push((i, element));
                }
            }
        }
        self.shown.set_value(placed);
        made
    }

    /// Whether the elements remembered are in `container` (it is not new
    /// or emptied since).
    pub(crate) fn shows_in(&self, container: &Element) -> bool {
        self.with(|shown| shown.first().is_some_and(|(_, el)| is_child(el, container)))
            .unwrap_or(false)
    }

    /// Runs `f` on the elements shown (id, element), in order.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&[(u64, HtmlElement)]) -> R) -> Option<R> {
        self.shown.try_with_value(|shown| f(shown))
    }
}

fn is_child(element: &HtmlElement, container: &Element) -> bool {
    element.parent_node().as_ref() == Some(container.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(steps: &[Step]) -> Vec<usize> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Make(i) => Some(*i),
                Step::Keep(_) => None,
            })
            .collect()
    }

    #[test]
    fn an_edited_block_is_the_only_one_made() {
        let steps = plan(&[1, 2, 3, 4], &[1, 2, 9, 4]);
        assert_eq!(
            steps,
            [Step::Keep(0), Step::Keep(1), Step::Make(2), Step::Keep(3)]
        );
    }

    #[test]
    fn split_joined_added_and_removed_blocks() {
        // Block 2 split in two.
        assert_eq!(made(&plan(&[1, 2, 3], &[1, 7, 8, 3])), [1, 2]);
        // Blocks 2 and 3 joined.
        assert_eq!(made(&plan(&[1, 2, 3, 4], &[1, 9, 4])), [1]);
        // Everything new, and nothing wanted.
        assert_eq!(made(&plan(&[1, 2], &[3, 4])), [0, 1]);
        assert_eq!(plan(&[1, 2], &[]), []);
        // Unchanged: all kept, in order.
        assert_eq!(
            plan(&[5, 6, 7], &[5, 6, 7]),
            [Step::Keep(0), Step::Keep(1), Step::Keep(2)]
        );
    }
}
