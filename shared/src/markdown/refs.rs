//! What one block may need from the rest of the document: link reference
//! definitions (`[label]: /url "title"`, usable from anywhere) and footnote
//! definitions (`[^label]: …`, which make `[^label]` a footnote reference).
//!
//! Blocks are parsed one at a time ([`super::document`]), so each parse is
//! handed the whole document's [`Refs`]; each block records the labels it
//! asked for, so a change of a definition re-renders exactly the blocks that
//! use it.

use std::collections::{HashMap, HashSet};

/// Where a reference label points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTarget {
    /// The address, as written (the renderer applies the URL policy).
    pub dest: String,
    /// The title, or empty.
    pub title: String,
}

/// The document's definitions, first definition of a label winning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refs {
    /// Link reference definitions by [`label_key`].
    pub links: HashMap<String, LinkTarget>,
    /// Footnote labels that have a definition, by [`label_key`].
    pub footnotes: HashSet<String>,
}

impl Refs {
    /// The labels (as [`asked_key`]s) whose meaning differs between `self`
    /// and `other`.
    pub fn changed(&self, other: &Refs) -> HashSet<String> {
        let mut changed = HashSet::new();
        for (label, target) in &self.links {
            if other.links.get(label) != Some(target) {
                changed.insert(label.clone());
            }
        }
        for label in other.links.keys() {
            if !self.links.contains_key(label) {
                changed.insert(label.clone());
            }
        }
        for label in self.footnotes.symmetric_difference(&other.footnotes) {
            changed.insert(footnote_key(label));
        }
        changed
    }
}

/// A reference label as the document matches it: surrounding whitespace
/// trimmed, inner runs of whitespace as one space, ASCII letters lowercased
/// (CommonMark folds all of Unicode; Tandem folds ASCII only, so a label that
/// differs only in the case of a non-ASCII letter is a different label here).
pub fn label_key(label: &str) -> String {
    let mut key = String::with_capacity(label.len());
    for word in label.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(&word.to_ascii_lowercase());
    }
    key
}

/// How a block records that it asked for footnote `label` (a `^` before the
/// key, so footnote and link labels never collide).
pub fn footnote_key(label_key: &str) -> String {
    format!("^{label_key}")
}
