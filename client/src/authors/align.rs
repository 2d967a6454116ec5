//! Where the preview's characters come from: the rendered text of a block
//! laid against the block's Markdown source, so the tint of each author's
//! run follows it into the preview.
//!
//! Rendering drops the marks (`**`, `#`, `[`…`](…)`), undoes escapes and
//! entities and may add text of its own (a footnote's number). So each
//! rendered character is looked for in the source from where the previous
//! one was found, a bounded way ahead; one that is not found (added by the
//! renderer) keeps no source offset and gets no tint. Pure: tested natively.

/// How far ahead in the source a rendered character is looked for: past
/// any mark the renderer drops (a link's address, a fence), not so far that
/// text the renderer added matches something unrelated.
const LOOK_AHEAD: usize = 160;

/// One stretch of a rendered text node that comes from the source
/// unchanged: units `from..to` of the node, from source unit `source` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Aligned {
    /// First unit in the node.
    pub(crate) from: u32,
    /// One past the last unit in the node.
    pub(crate) to: u32,
    /// The source unit the first one comes from.
    pub(crate) source: u32,
}

/// Lays each of `nodes` (a block's rendered text nodes, in order, in UTF-16
/// units) against `source` (the block's Markdown): per node, its stretches
/// that come from the source.
pub(crate) fn align(source: &[u16], nodes: &[Vec<u16>]) -> Vec<Vec<Aligned>> {
    let mut at = 0usize;
    nodes
        .iter()
        .map(|node| {
            let mut stretches: Vec<Aligned> = Vec::new();
            for (i, unit) in node.iter().enumerate() {
                let end = source.len().min(at + LOOK_AHEAD);
                let Some(found) = source[at.min(end)..end]
                    .iter()
                    .position(|s| same(*s, *unit))
                else {
                    continue;
                };
                let from_source = (at + found) as u32;
                at += found + 1;
                let i = i as u32;
                match stretches.last_mut() {
                    Some(last)
                        if last.to == i && last.source + (last.to - last.from) == from_source =>
                    {
                        last.to += 1;
                    }
                    _ => stretches.push(Aligned {
                        from: i,
                        to: i + 1,
                        source: from_source,
                    }),
                }
            }
            stretches
        })
        .collect()
}

/// Whether a rendered unit is the source unit: the same, or a line break
/// the renderer wrote as a space (or the other way round).
fn same(source: u16, rendered: u16) -> bool {
    const SPACE: u16 = b' ' as u16;
    const NEWLINE: u16 = b'\n' as u16;
    source == rendered || matches!((source, rendered), (NEWLINE, SPACE) | (SPACE, NEWLINE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    /// For each node, the source text each of its stretches came from.
    fn sourced(source: &str, nodes: &[&str]) -> Vec<Vec<String>> {
        let source_units = units(source);
        let nodes: Vec<Vec<u16>> = nodes.iter().map(|n| units(n)).collect();
        align(&source_units, &nodes)
            .iter()
            .map(|stretches| {
                stretches
                    .iter()
                    .map(|a| {
                        let from = a.source as usize;
                        let to = from + (a.to - a.from) as usize;
                        String::from_utf16_lossy(&source_units[from..to])
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn marks_are_skipped_and_text_is_found_where_it_was_written() {
        assert_eq!(
            sourced(
                "# A **bold** [link](https://x.example) 👋",
                &["A ", "bold", " ", "link", " 👋"]
            ),
            [
                vec!["A "],
                vec!["bold"],
                vec![" "],
                vec!["link"],
                vec![" 👋"],
            ]
        );
    }

    #[test]
    fn entities_escapes_and_line_breaks_map_to_what_they_came_from() {
        // `&amp;` renders as `&`, `\*` as `*`, a soft break as a new line.
        let got = sourced(
            "Tom &amp; Jerry \\*not\\* emphasis\nnext",
            &["Tom & Jerry *not* emphasis\nnext"],
        );
        assert_eq!(got, [vec!["Tom &", " Jerry ", "*not", "* emphasis\nnext"]]);
    }

    #[test]
    fn text_the_renderer_added_gets_no_source() {
        // A footnote reference renders as its number.
        let source = "Claim[^a]";
        let got = sourced(source, &["Claim", "1"]);
        assert_eq!(got, [vec!["Claim"], vec![]]);
    }
}
