//! The editor's Markdown shortcuts and toolbar actions, as edits of the text.
//!
//! Each [`Action`] is a pure function of the text and the selection (UTF-8
//! byte offsets) to a [`TextEdit`]: a few non-overlapping changes and where
//! the selection goes after them, or `None` when the action does not apply
//! (then the key keeps its usual meaning: Enter a plain line break, Tab
//! moving the focus). The page applies the changes to the shared text in
//! one transaction, so each action is one update for the others and one
//! undo step. Only the characters the action adds or removes change: the
//! selected text itself is never deleted and typed again, so other people's
//! carets and concurrent edits inside it stay where they are.
//!
//! | action | does | shortcut |
//! |---|---|---|
//! | Bold, Italic, Code | wrap the selection (or the word at the caret) in `**`, `_`, `` ` ``, or unwrap it; code over several lines makes a fenced block | Ctrl/Cmd+B, I, E |
//! | Link | `[selection](url)`, "url" selected | Ctrl/Cmd+K |
//! | Bulleted, Numbered, Task list, Quote | add the marker to every selected line, or remove it when all have it | Ctrl/Cmd+Shift+8, 7 (lists) |
//! | Larger / Smaller heading | `###` → `##` → `#`; `#` → `##` … → plain text | Ctrl/Cmd+Alt+= / - |
//! | New line | continues a list item or quote (the next number, an unticked box); on an empty item ends the list | Enter |
//! | Indent / Outdent | list items by their marker's width | Tab / Shift+Tab |

use std::ops::Range;

use super::offsets::{byte_to_utf16, line_end, line_start};

/// Something the shortcuts and the toolbar can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `**strong**`.
    Bold,
    /// `_emphasis_`.
    Italic,
    /// `` `code` `` (a fenced block over several lines).
    Code,
    /// `[text](url)`.
    Link,
    /// `- item`.
    BulletList,
    /// `1. item`.
    NumberedList,
    /// `- [ ] item`.
    TaskList,
    /// `> quote`.
    Quote,
    /// One `#` fewer (plain text becomes `###`).
    HeadingLarger,
    /// One `#` more (`######` becomes plain text).
    HeadingSmaller,
    /// Enter: continue the list or quote.
    NewLine,
    /// Tab in a list item.
    Indent,
    /// Shift+Tab in a list item.
    Outdent,
}

/// One change of the text: at byte `at`, remove `delete` bytes, insert `insert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Where, in the text before the edit.
    pub at: usize,
    /// Bytes removed.
    pub delete: usize,
    /// Text inserted.
    pub insert: String,
}

/// An action's effect: changes in ascending, non-overlapping order, and the
/// selection after them (bytes of the new text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    /// What changes.
    pub changes: Vec<Change>,
    /// The selection afterwards.
    pub selection: Range<usize>,
}

/// A [`TextEdit`] in UTF-16 units, as the page applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utf16Edit {
    /// (index, units removed, text inserted), ascending, in the old text.
    pub changes: Vec<(usize, usize, String)>,
    /// The selection afterwards, in the new text.
    pub selection: Range<usize>,
}

impl TextEdit {
    /// `text` with the changes made.
    pub fn apply_to(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 16);
        let mut at = 0;
        for change in &self.changes {
            out.push_str(&text[at..change.at]);
            out.push_str(&change.insert);
            at = change.at + change.delete;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The same edit in UTF-16 units of `text` (the text before the edit).
    pub fn to_utf16(&self, text: &str) -> Utf16Edit {
        let changes = self
            .changes
            .iter()
            .map(|c| {
                let start = byte_to_utf16(text, c.at);
                let end = byte_to_utf16(text, c.at + c.delete);
                (start, end - start, c.insert.clone())
            })
            .collect();
        let after = self.apply_to(text);
        Utf16Edit {
            changes,
            selection: byte_to_utf16(&after, self.selection.start)
                ..byte_to_utf16(&after, self.selection.end),
        }
    }
}

/// What `action` does to `text` with `selection` selected, if anything.
pub fn apply(action: Action, text: &str, selection: Range<usize>) -> Option<TextEdit> {
    let selection = selection.start.min(text.len())..selection.end.min(text.len());
    match action {
        Action::Bold => Some(toggle_inline(text, selection, "**")),
        Action::Italic => Some(toggle_inline(text, selection, "_")),
        Action::Code => Some(code(text, selection)),
        Action::Link => Some(link(text, selection)),
        Action::BulletList => line_prefix(text, selection, LineKind::Bullet),
        Action::NumberedList => line_prefix(text, selection, LineKind::Numbered),
        Action::TaskList => line_prefix(text, selection, LineKind::Task),
        Action::Quote => line_prefix(text, selection, LineKind::Quote),
        Action::HeadingLarger => heading(text, selection, true),
        Action::HeadingSmaller => heading(text, selection, false),
        Action::NewLine => new_line(text, selection),
        Action::Indent => indent(text, selection, true),
        Action::Outdent => indent(text, selection, false),
    }
}

fn insert(at: usize, text: &str) -> Change {
    Change {
        at,
        delete: 0,
        insert: text.to_owned(),
    }
}

fn delete(at: usize, len: usize) -> Change {
    Change {
        at,
        delete: len,
        insert: String::new(),
    }
}

/// Where `pos` (old text) is after `changes`; an insertion at `pos` goes
/// before it.
fn map(pos: usize, changes: &[Change]) -> usize {
    let mut shift = 0isize;
    for change in changes {
        if change.at > pos {
            break;
        }
        if change.at == pos && change.delete > 0 {
            // A marker replaced right after the caret: the caret stays before it.
            return (pos as isize + shift) as usize;
        }
        if change.at + change.delete <= pos {
            shift += change.insert.len() as isize - change.delete as isize;
        } else {
            return (change.at as isize + shift) as usize + change.insert.len();
        }
    }
    (pos as isize + shift) as usize
}

fn with_mapped(changes: Vec<Change>, selection: Range<usize>) -> TextEdit {
    let selection = map(selection.start, &changes)..map(selection.end, &changes);
    TextEdit { changes, selection }
}

/// Wraps or unwraps the selection in `marker`.
fn toggle_inline(text: &str, selection: Range<usize>, marker: &str) -> TextEdit {
    let m = marker.len();
    let (mut start, mut end) = (selection.start, selection.end);
    let around =
        |s: usize, e: usize| s >= m && text[..s].ends_with(marker) && text[e..].starts_with(marker);
    if start == end {
        if around(start, end) {
            // The caret between an empty pair: remove it.
            return TextEdit {
                changes: vec![delete(start - m, m), delete(end, m)],
                selection: start - m..start - m,
            };
        }
        // The word at the caret, if any.
        let is_word = |c: char| c.is_alphanumeric() || c == '\'' || c == '-';
        start = text[..start]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_word(*c))
            .last()
            .map_or(start, |(i, _)| i);
        end += text[end..]
            .chars()
            .take_while(|c| is_word(*c))
            .map(char::len_utf8)
            .sum::<usize>();
        if start == end {
            let pair = format!("{marker}{marker}");
            return TextEdit {
                changes: vec![insert(start, &pair)],
                selection: start + m..start + m,
            };
        }
    } else {
        // A double click selects the space after a word: leave it out.
        let selected = &text[start..end];
        start += selected.len() - selected.trim_start().len();
        end -= selected.len() - selected.trim_end().len();
        if start >= end {
            return TextEdit {
                changes: Vec::new(),
                selection,
            };
        }
    }
    if around(start, end) {
        return TextEdit {
            changes: vec![delete(start - m, m), delete(end, m)],
            selection: start - m..end - m,
        };
    }
    let inner = &text[start..end];
    if inner.len() >= 2 * m && inner.starts_with(marker) && inner.ends_with(marker) {
        return TextEdit {
            changes: vec![delete(start, m), delete(end - m, m)],
            selection: start..end - 2 * m,
        };
    }
    let caret_only = selection.start == selection.end;
    TextEdit {
        changes: vec![insert(start, marker), insert(end, marker)],
        selection: if caret_only {
            selection.start + m..selection.start + m
        } else {
            start + m..end + m
        },
    }
}

/// Inline code, or a fenced block around selected lines.
fn code(text: &str, selection: Range<usize>) -> TextEdit {
    if !text[selection.clone()].contains('\n') {
        return toggle_inline(text, selection, "`");
    }
    let start = line_start(text, selection.start);
    let end = line_end(text, selection.end.saturating_sub(1).max(selection.start));
    let changes = vec![insert(start, "```\n"), insert(end, "\n```")];
    TextEdit {
        selection: start + 4..end + 4,
        changes,
    }
}

/// `[selection](url)`, with "url" selected; a selected address becomes the
/// link's address instead, the caret in the brackets.
fn link(text: &str, selection: Range<usize>) -> TextEdit {
    let selected = &text[selection.clone()];
    if selected.starts_with("http://") || selected.starts_with("https://") {
        let changes = vec![insert(selection.start, "[]("), insert(selection.end, ")")];
        return TextEdit {
            changes,
            selection: selection.start + 1..selection.start + 1,
        };
    }
    let changes = vec![
        insert(selection.start, "["),
        insert(selection.end, "](url)"),
    ];
    let url = selection.end + 3;
    TextEdit {
        changes,
        selection: url..url + 3,
    }
}

/// The kinds of line prefix the list and quote actions add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Bullet,
    Numbered,
    Task,
    Quote,
}

/// A list item's prefix on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListPrefix {
    /// Leading spaces.
    indent: usize,
    /// The marker and the spaces after it (`- `, `12. `), bytes.
    marker: usize,
    /// A task box after the marker (`[ ] `), bytes (0 if none).
    task: usize,
    /// `Some(n)` for `n.` or `n)`, with the delimiter; `None` for a bullet.
    number: Option<(u64, char)>,
    /// The bullet character.
    bullet: char,
}

impl ListPrefix {
    fn len(&self) -> usize {
        self.indent + self.marker + self.task
    }

    fn kind(&self) -> LineKind {
        match (self.number, self.task) {
            (Some(_), _) => LineKind::Numbered,
            (None, 0) => LineKind::Bullet,
            (None, _) => LineKind::Task,
        }
    }
}

/// The list item prefix of `line`, if it starts one.
fn list_prefix(line: &str) -> Option<ListPrefix> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let (number, bullet, marker_len) = match rest.chars().next()? {
        c @ ('-' | '*' | '+') => (None, c, 1),
        '0'..='9' => {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 9 {
                return None;
            }
            let delim = rest[digits..].chars().next()?;
            if delim != '.' && delim != ')' {
                return None;
            }
            let n = rest[..digits].parse().ok()?;
            (Some((n, delim)), delim, digits + 1)
        }
        _ => return None,
    };
    let after = &rest[marker_len..];
    let spaces = after.len() - after.trim_start_matches(' ').len();
    if spaces == 0 && !after.is_empty() {
        return None;
    }
    // A thematic break (`- - -`, `***`) is not a list item.
    if number.is_none()
        && rest.chars().filter(|c| *c == bullet).count() >= 3
        && rest.chars().all(|c| c == bullet || c == ' ')
    {
        return None;
    }
    let marker = marker_len + spaces.min(4);
    let content = &rest[marker..];
    let task = ["[ ] ", "[x] ", "[X] "]
        .iter()
        .find(|b| content.starts_with(**b))
        .map_or_else(
            || {
                if ["[ ]", "[x]", "[X]"].contains(&content) {
                    3
                } else {
                    0
                }
            },
            |b| b.len(),
        );
    Some(ListPrefix {
        indent,
        marker,
        task,
        number,
        bullet,
    })
}

/// The quote prefix of `line` (`>`, `> `, `> > `…), bytes.
fn quote_prefix(line: &str) -> usize {
    let mut at = 0;
    loop {
        let rest = &line[at..];
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        if spaces > 3 || !rest[spaces..].starts_with('>') {
            return at;
        }
        at += spaces + 1;
        if line[at..].starts_with(' ') {
            at += 1;
        }
    }
}

/// The starts of the lines `selection` touches (a selection ending at the
/// start of a line does not touch that line).
fn touched_lines(text: &str, selection: &Range<usize>) -> Vec<usize> {
    let first = line_start(text, selection.start);
    let last_byte = if selection.end > selection.start && text[..selection.end].ends_with('\n') {
        selection.end - 1
    } else {
        selection.end
    };
    let last = line_start(text, last_byte.max(selection.start));
    let mut lines = vec![first];
    let mut at = first;
    while at < last {
        at = line_end(text, at) + 1;
        lines.push(at);
    }
    lines
}

/// Adds or removes a list or quote marker on every touched line.
fn line_prefix(text: &str, selection: Range<usize>, kind: LineKind) -> Option<TextEdit> {
    let lines = touched_lines(text, &selection);
    let line = |start: usize| &text[start..line_end(text, start)];
    let blank = |start: usize| line(start).trim().is_empty();
    let all_blank = lines.iter().all(|&s| blank(s));
    let chosen: Vec<usize> = lines
        .iter()
        .copied()
        .filter(|&s| all_blank || !blank(s))
        .collect();
    let has = |start: usize| match kind {
        LineKind::Quote => quote_prefix(line(start)) > 0,
        _ => list_prefix(line(start)).is_some_and(|p| p.kind() == kind),
    };
    let remove = chosen.iter().all(|&s| has(s));
    let mut changes = Vec::new();
    let mut number = 1u64;
    for &start in &chosen {
        let text_of_line = line(start);
        match kind {
            LineKind::Quote => {
                let q = quote_prefix(text_of_line);
                if remove {
                    // One level: up to and including the first `>` and its space.
                    let first = text_of_line.find('>').map_or(q, |gt| {
                        gt + 1 + usize::from(text_of_line[gt + 1..].starts_with(' '))
                    });
                    changes.push(delete(start, first));
                } else {
                    changes.push(insert(start, "> "));
                }
            }
            _ => {
                let existing = list_prefix(text_of_line);
                if remove {
                    if let Some(p) = existing {
                        changes.push(delete(start + p.indent, p.marker + p.task));
                    }
                    continue;
                }
                let marker = match kind {
                    LineKind::Bullet => "- ".to_owned(),
                    LineKind::Task => "- [ ] ".to_owned(),
                    _ => {
                        let m = format!("{number}. ");
                        number += 1;
                        m
                    }
                };
                match existing {
                    Some(p) => changes.push(Change {
                        at: start + p.indent,
                        delete: p.marker + p.task,
                        insert: marker,
                    }),
                    None => {
                        let indent = text_of_line.len() - text_of_line.trim_start().len();
                        changes.push(insert(start + indent, &marker));
                    }
                }
            }
        }
    }
    if changes.is_empty() {
        return None;
    }
    Some(with_mapped(changes, selection))
}

/// One `#` fewer (`larger`) or more on every touched line.
fn heading(text: &str, selection: Range<usize>, larger: bool) -> Option<TextEdit> {
    let mut changes = Vec::new();
    for start in touched_lines(text, &selection) {
        let line = &text[start..line_end(text, start)];
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent > 3 {
            continue;
        }
        let rest = &line[indent..];
        let hashes = rest.bytes().take_while(|b| *b == b'#').count();
        let level = if hashes <= 6 && (rest.len() == hashes || rest[hashes..].starts_with(' ')) {
            hashes
        } else {
            0
        };
        let prefix = if level > 0 {
            level + usize::from(rest[level..].starts_with(' '))
        } else {
            0
        };
        let new_level = match (larger, level) {
            (true, 0) => 3,
            (true, n) => n.saturating_sub(1).max(1),
            (false, 0) => continue,
            (false, 6) => 0,
            (false, n) => n + 1,
        };
        if new_level == level {
            continue;
        }
        let insert = if new_level == 0 {
            String::new()
        } else {
            format!("{} ", "#".repeat(new_level))
        };
        changes.push(Change {
            at: start + indent,
            delete: prefix,
            insert,
        });
    }
    if changes.is_empty() {
        return None;
    }
    Some(with_mapped(changes, selection))
}

/// Enter in a list item or quote: the next item, or the end of the list.
fn new_line(text: &str, selection: Range<usize>) -> Option<TextEdit> {
    if selection.start != selection.end {
        return None;
    }
    let at = selection.start;
    let start = line_start(text, at);
    let line = &text[start..line_end(text, start)];
    let quote = quote_prefix(line);
    let list = list_prefix(&line[quote..]);
    let prefix = quote + list.as_ref().map_or(0, ListPrefix::len);
    if prefix == 0 || at - start < prefix {
        return None;
    }
    if line[prefix..].trim().is_empty() {
        // An empty item ends the list (or the quote): its marker goes.
        let keep = if list.is_some() { quote } else { 0 };
        let removed = line.len() - keep;
        return Some(TextEdit {
            changes: vec![delete(start + keep, removed)],
            selection: start + keep..start + keep,
        });
    }
    let mut next = String::from("\n");
    next.push_str(&line[..quote]);
    if let Some(p) = &list {
        next.push_str(&" ".repeat(p.indent));
        match p.number {
            Some((n, delim)) => {
                next.push_str(&(n + 1).to_string());
                next.push(delim);
                next.push(' ');
            }
            None => {
                next.push(p.bullet);
                next.push(' ');
            }
        }
        if p.task > 0 {
            next.push_str("[ ] ");
        }
    }
    let caret = at + next.len();
    Some(TextEdit {
        changes: vec![insert(at, &next)],
        selection: caret..caret,
    })
}

/// Tab and Shift+Tab on list items: by the width of each item's marker.
fn indent(text: &str, selection: Range<usize>, deeper: bool) -> Option<TextEdit> {
    let lines = touched_lines(text, &selection);
    let items: Vec<(usize, ListPrefix)> = lines
        .iter()
        .filter_map(|&s| Some((s, list_prefix(&text[s..line_end(text, s)])?)))
        .collect();
    // Only when the caret's line is an item: elsewhere Tab moves the focus.
    let caret_line = line_start(text, selection.start);
    if !items.iter().any(|(s, _)| *s == caret_line) {
        return None;
    }
    let mut changes = Vec::new();
    for (start, prefix) in items {
        let width = prefix.marker.max(2);
        if deeper {
            changes.push(insert(start, &" ".repeat(width)));
        } else if prefix.indent > 0 {
            changes.push(delete(start, width.min(prefix.indent)));
        }
    }
    if changes.is_empty() {
        // Shift+Tab on an item that cannot go further left: nothing to do,
        // but the key is still the list's (focus stays in the text).
        return Some(TextEdit { changes, selection });
    }
    Some(with_mapped(changes, selection))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `action` on `marked`, where `[` and `]` mark the selection (`|`
    /// a caret), and returns the result marked the same way.
    fn run(action: Action, marked: &str) -> Option<String> {
        let (text, selection) = unmark(marked);
        let edit = apply(action, &text, selection)?;
        let out = edit.apply_to(&text);
        Some(mark(&out, edit.selection))
    }

    fn unmark(marked: &str) -> (String, Range<usize>) {
        if let Some(at) = marked.find('|') {
            let text = marked.replacen('|', "", 1);
            return (text, at..at);
        }
        let start = marked.find('[').expect("a selection");
        let text = marked.replacen('[', "", 1);
        let end = text.rfind(']').expect("a selection end");
        (text[..end].to_owned() + &text[end + 1..], start..end)
    }

    fn mark(text: &str, selection: Range<usize>) -> String {
        if selection.is_empty() {
            format!("{}|{}", &text[..selection.start], &text[selection.start..])
        } else {
            format!(
                "{}[{}]{}",
                &text[..selection.start],
                &text[selection.clone()],
                &text[selection.end..]
            )
        }
    }

    #[test]
    fn bold_toggles_on_a_selection_and_off_again() {
        assert_eq!(
            run(Action::Bold, "a [word] b").as_deref(),
            Some("a **[word]** b")
        );
        assert_eq!(
            run(Action::Bold, "a **[word]** b").as_deref(),
            Some("a [word] b")
        );
        assert_eq!(
            run(Action::Bold, "a [**word**] b").as_deref(),
            Some("a [word] b")
        );
        // The space a double click adds stays outside.
        assert_eq!(
            run(Action::Bold, "a [word ]b").as_deref(),
            Some("a **[word]** b")
        );
        assert_eq!(run(Action::Italic, "[x]").as_deref(), Some("_[x]_"));
        assert_eq!(run(Action::Code, "[x]").as_deref(), Some("`[x]`"));
    }

    #[test]
    fn inline_marks_at_a_caret() {
        assert_eq!(run(Action::Bold, "a |").as_deref(), Some("a **|**"));
        assert_eq!(run(Action::Bold, "a **|**").as_deref(), Some("a |"));
        assert_eq!(
            run(Action::Italic, "sp|ot on").as_deref(),
            Some("_sp|ot_ on")
        );
        assert_eq!(
            run(Action::Code, "[a\nb]").as_deref(),
            Some("```\n[a\nb]\n```")
        );
    }

    #[test]
    fn the_edit_only_adds_and_removes_markers() {
        let edit = apply(Action::Bold, "a word b", 2..6).expect("applies");
        assert_eq!(edit.changes, [insert(2, "**"), insert(6, "**")]);
        let edit = apply(Action::Bold, "a **word** b", 4..8).expect("applies");
        assert_eq!(edit.changes, [delete(2, 2), delete(8, 2)]);
    }

    #[test]
    fn links() {
        assert_eq!(
            run(Action::Link, "see [docs]").as_deref(),
            Some("see [docs]([url])")
        );
        assert_eq!(
            run(Action::Link, "[https://x.org]").as_deref(),
            Some("[|](https://x.org)")
        );
        assert_eq!(run(Action::Link, "|").as_deref(), Some("[]([url])"));
    }

    #[test]
    fn lists_and_quotes_toggle_per_line() {
        assert_eq!(
            run(Action::BulletList, "[a\nb]").as_deref(),
            Some("- [a\n- b]")
        );
        assert_eq!(
            run(Action::BulletList, "- [a\n- b]").as_deref(),
            Some("[a\nb]")
        );
        assert_eq!(
            run(Action::NumberedList, "[a\n\nb]").as_deref(),
            Some("1. [a\n\n2. b]")
        );
        assert_eq!(run(Action::NumberedList, "- a|").as_deref(), Some("1. a|"));
        assert_eq!(run(Action::TaskList, "|").as_deref(), Some("- [ ] |"));
        assert_eq!(run(Action::TaskList, "- [x] do|").as_deref(), Some("do|"));
        assert_eq!(run(Action::Quote, "[a\nb]").as_deref(), Some("> [a\n> b]"));
        assert_eq!(run(Action::Quote, "> a|").as_deref(), Some("a|"));
        // A selection that ends at a line start leaves that line alone.
        assert_eq!(
            run(Action::BulletList, "[a\n]b").as_deref(),
            Some("- [a\n]b")
        );
    }

    #[test]
    fn heading_levels() {
        assert_eq!(
            run(Action::HeadingLarger, "Title|").as_deref(),
            Some("### Title|")
        );
        assert_eq!(
            run(Action::HeadingLarger, "### T|").as_deref(),
            Some("## T|")
        );
        assert_eq!(run(Action::HeadingLarger, "# T|"), None);
        assert_eq!(
            run(Action::HeadingSmaller, "# T|").as_deref(),
            Some("## T|")
        );
        assert_eq!(
            run(Action::HeadingSmaller, "###### T|").as_deref(),
            Some("T|")
        );
        assert_eq!(run(Action::HeadingSmaller, "T|"), None);
        assert_eq!(
            run(Action::HeadingSmaller, "|# T").as_deref(),
            Some("|## T")
        );
    }

    #[test]
    fn enter_continues_lists_and_quotes() {
        assert_eq!(run(Action::NewLine, "- a|").as_deref(), Some("- a\n- |"));
        assert_eq!(
            run(Action::NewLine, "  * a|").as_deref(),
            Some("  * a\n  * |")
        );
        assert_eq!(
            run(Action::NewLine, "9. a|").as_deref(),
            Some("9. a\n10. |")
        );
        assert_eq!(run(Action::NewLine, "1) a|").as_deref(), Some("1) a\n2) |"));
        assert_eq!(
            run(Action::NewLine, "- [x] a|").as_deref(),
            Some("- [x] a\n- [ ] |")
        );
        assert_eq!(run(Action::NewLine, "> a|").as_deref(), Some("> a\n> |"));
        assert_eq!(
            run(Action::NewLine, "> - a|").as_deref(),
            Some("> - a\n> - |")
        );
        // Splitting an item in the middle.
        assert_eq!(
            run(Action::NewLine, "- ab|cd").as_deref(),
            Some("- ab\n- |cd")
        );
        // An empty item ends the list; inside a quote the quote stays.
        assert_eq!(run(Action::NewLine, "- a\n- |").as_deref(), Some("- a\n|"));
        assert_eq!(
            run(Action::NewLine, "- a\n- [ ] |").as_deref(),
            Some("- a\n|")
        );
        assert_eq!(run(Action::NewLine, "> - |").as_deref(), Some("> |"));
        assert_eq!(run(Action::NewLine, "> |").as_deref(), Some("|"));
        // Not in a list, in the marker, or with a selection: a plain Enter.
        assert_eq!(run(Action::NewLine, "text|"), None);
        assert_eq!(run(Action::NewLine, "-| a"), None);
        assert_eq!(run(Action::NewLine, "- [a]"), None);
        assert_eq!(run(Action::NewLine, "---|"), None);
    }

    #[test]
    fn tab_indents_list_items_only() {
        assert_eq!(
            run(Action::Indent, "- a\n- b|").as_deref(),
            Some("- a\n  - b|")
        );
        assert_eq!(
            run(Action::Indent, "1. a\n1. b|").as_deref(),
            Some("1. a\n   1. b|")
        );
        assert_eq!(
            run(Action::Outdent, "- a\n  - b|").as_deref(),
            Some("- a\n- b|")
        );
        assert_eq!(
            run(Action::Indent, "[- a\n- b]").as_deref(),
            Some("  [- a\n  - b]")
        );
        assert_eq!(run(Action::Indent, "text|"), None);
        assert_eq!(run(Action::Outdent, "- a|").as_deref(), Some("- a|"));
    }

    #[test]
    fn utf16_offsets_for_the_page() {
        let edit = apply(Action::Bold, "👋 hi", 5..7).expect("applies");
        let units = edit.to_utf16("👋 hi");
        assert_eq!(units.changes, [(3, 0, "**".into()), (5, 0, "**".into())]);
        assert_eq!(units.selection, 5..7);
    }
}
