//! The Markdown dialect every part of [`super`] parses: one set of
//! pulldown-cmark options, in a file of its own so the parts that parse
//! (blocks, highlighting, rendering) depend on it and not on their parent.

use pulldown_cmark::Options;

/// The Markdown Tandem reads: CommonMark plus GitHub's tables, task lists,
/// strikethrough, footnotes and alerts. Footnotes use pulldown-cmark's older
/// rules, in which `[^label]` is a reference whether or not its definition
/// is in the same block (blocks are parsed one at a time; `refs` decides
/// whether the definition exists anywhere).
pub(crate) fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_OLD_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
}
