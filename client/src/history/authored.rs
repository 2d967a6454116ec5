//! History that speaks about people (issue 28): the insertions a diff marks,
//! cut where their author changes and given that author (from the runs of
//! the newer text), and a version's changes as names and counts.
//! Pure: tested natively.

use tandem_shared::authors::{AuthorId, Authorship, ExportedRun, UNKNOWN_AUTHOR};
use tandem_shared::history::AuthorChange;

use super::diff::{Change, Piece};

/// A piece of a diff, with who wrote it when it is an insertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marked {
    /// What happened to it.
    pub(crate) change: Change,
    /// The text.
    pub(crate) text: String,
    /// For an insertion: who wrote it (`None`: nobody recorded).
    pub(crate) author: Option<AuthorId>,
}

/// The `pieces` of a diff whose newer text has `runs` (UTF-16 offsets): each
/// insertion cut where its author changes, with that author; the other
/// pieces as they are.
pub(crate) fn by_author(pieces: Vec<Piece>, runs: &[ExportedRun]) -> Vec<Marked> {
    let mut out = Vec::new();
    let mut at = 0u32;
    for piece in pieces {
        let units: Vec<u16> = piece.text.encode_utf16().collect();
        let len = units.len() as u32;
        match piece.change {
            Change::Removed => out.push(Marked {
                change: piece.change,
                text: piece.text,
                author: None,
            }),
            Change::Same => {
                out.push(Marked {
                    change: piece.change,
                    text: piece.text,
                    author: None,
                });
                at += len;
            }
            Change::Added => {
                let mut from = 0u32;
                while from < len {
                    let offset = at + from;
                    let i = runs.partition_point(|r| r.to <= offset);
                    let (author, end) = match runs.get(i).filter(|r| r.from <= offset) {
                        Some(run) => (run.author.clone(), (run.to - at).min(len)),
                        // Past the runs (they are older than the text).
                        None => (None, len),
                    };
                    let end = end.max(from + 1);
                    out.push(Marked {
                        change: Change::Added,
                        text: String::from_utf16_lossy(&units[from as usize..end as usize]),
                        author,
                    });
                    from = end;
                }
                at += len;
            }
        }
    }
    out
}

/// One author's line of a version: who, and how much they added and removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Changed {
    /// How the page names them.
    pub(crate) label: String,
    /// Their colour, if the table knows them.
    pub(crate) color: Option<String>,
    /// UTF-16 units they added.
    pub(crate) added: u64,
    /// UTF-16 units they removed.
    pub(crate) removed: u64,
}

/// A version's `changes`, named by `table` (`when` writes a restored
/// version's time).
pub(crate) fn changed(
    changes: &[AuthorChange],
    table: &Authorship,
    when: impl Fn(i64) -> String,
) -> Vec<Changed> {
    changes
        .iter()
        .map(|change| {
            let author = table.author(&change.author);
            Changed {
                label: author.map_or_else(|| UNKNOWN_AUTHOR.to_owned(), |a| a.label(&when)),
                color: author.map(|a| a.color.clone()),
                added: change.added,
                removed: change.removed,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use tandem_shared::authors::{Author, AuthorKind};

    use super::*;

    fn id(text: &str) -> AuthorId {
        AuthorId::new(text).expect("id")
    }

    fn piece(change: Change, text: &str) -> Piece {
        Piece {
            change,
            text: text.to_owned(),
        }
    }

    fn run(from: u32, to: u32, author: Option<&str>) -> ExportedRun {
        ExportedRun {
            from,
            to,
            author: author.map(id),
        }
    }

    #[test]
    fn insertions_are_cut_where_their_author_changes() {
        // Old "the fox", new "the quick 👋 brown fox": "quick 👋 " by Ada,
        // "brown " by Bob.
        let pieces = vec![
            piece(Change::Same, "the "),
            piece(Change::Removed, "old "),
            piece(Change::Added, "quick 👋 brown "),
            piece(Change::Same, "fox"),
        ];
        let runs = [
            run(0, 4, Some("ada")),
            run(4, 13, Some("ada")),
            run(13, 19, Some("bob")),
            run(19, 22, None),
        ];
        let marked = by_author(pieces, &runs);
        let seen: Vec<(Change, &str, Option<&str>)> = marked
            .iter()
            .map(|m| {
                (
                    m.change,
                    m.text.as_str(),
                    m.author.as_ref().map(AuthorId::as_str),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (Change::Same, "the ", None),
                (Change::Removed, "old ", None),
                (Change::Added, "quick 👋 ", Some("ada")),
                (Change::Added, "brown ", Some("bob")),
                (Change::Same, "fox", None),
            ]
        );
        // No runs (an older page, or none recorded): one insertion, nobody's.
        let marked = by_author(vec![piece(Change::Added, "new")], &[]);
        assert_eq!(marked.len(), 1);
        assert_eq!(marked[0].author, None);
    }

    #[test]
    fn changes_are_named_by_the_table() {
        let table = Authorship {
            authors: vec![Author {
                id: id("ada"),
                kind: AuthorKind::Person,
                name: "Ada".into(),
                color: "#d23f4a".into(),
                restored: None,
            }],
            claims: Vec::new(),
        };
        let changes = [
            AuthorChange {
                author: id("ada"),
                added: 12,
                removed: 3,
            },
            AuthorChange {
                author: id("gone"),
                added: 0,
                removed: 4,
            },
        ];
        let named = changed(&changes, &table, |_| String::new());
        assert_eq!(named[0].label, "Ada");
        assert_eq!(named[0].color.as_deref(), Some("#d23f4a"));
        assert_eq!((named[0].added, named[0].removed), (12, 3));
        assert_eq!(named[1].label, UNKNOWN_AUTHOR);
    }
}
