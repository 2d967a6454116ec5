//! [`AuthorsView`]: the page's who-wrote-what, a small `Copy` handle.
//!
//! It keeps the body as [`Pieces`] (who wrote each stretch, by yrs client
//! id), read once from the document's items and then kept edit by edit
//! from what each transaction did ([`BodyEdit`]); a transaction that brings
//! several writers' items at once (a sync step 2) makes it read the items
//! again. The runs of one author each come from the pieces under the
//! room's authorship ([`Authorship`]), whose changes the server sends before
//! the text they attribute. While authors are not shown nothing is kept:
//! turning them on reads the document once.

use leptos::prelude::*;
use tandem_shared::authors::{
    Author, AuthorKind, Authorship, ItemSpan, Lookup, Pieces, Run, UNKNOWN_AUTHOR, shares,
};
use tandem_shared::palette::{Scheme, tint};

use crate::editor::BodyEdit;
use crate::storage;

/// An author as the page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    /// How they are named (see [`Author::label`]).
    pub(crate) label: String,
    /// Their colour, `#rrggbb`.
    pub(crate) color: String,
    /// The tint of their text on the light paper.
    pub(crate) tint_light: String,
    /// The tint of their text on the dark paper.
    pub(crate) tint_dark: String,
    /// Whether this is the person at this page.
    pub(crate) is_you: bool,
    /// A person, a Yjs client or a restore.
    pub(crate) kind: AuthorKind,
}

/// One line of the legend: an author (or text nobody is recorded for) and
/// their share of the body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Share {
    /// The author's position in the table; `None` for text with no author.
    pub(crate) author: Option<usize>,
    /// How they are named.
    pub(crate) label: String,
    /// Their colour (`None`: nobody's).
    pub(crate) color: Option<String>,
    /// Whether this is the person at this page.
    pub(crate) is_you: bool,
    /// Their share of the body in whole percent, rounded (integers: float
    /// formatting would bring its code into the wasm for this label).
    pub(crate) percent: u32,
}

/// What the view computed last.
#[derive(Debug, Default)]
struct Computed {
    /// The body by writer; `None` until read (or while authors are hidden).
    pieces: Option<Pieces>,
    /// The table the runs were computed under.
    table: Authorship,
    /// Its index.
    lookup: Lookup,
    /// The body's runs of one author each.
    runs: Vec<Run>,
    /// The authors as shown, by position in the table.
    shown: Vec<Shown>,
}

/// The page's who-wrote-what.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthorsView {
    /// Whether the page shows authors (the "Show authors" toggle),
    /// remembered in this browser.
    pub(crate) shown: RwSignal<bool>,
    /// Bumped whenever the runs or the authors' names and colours change.
    pub(crate) version: RwSignal<u64>,
    /// Who wrote the text at the body's caret, while authors are shown.
    pub(crate) at_caret: RwSignal<Option<String>>,
    /// The computed runs and authors.
    computed: StoredValue<Computed>,
}

/// `localStorage` key of the toggle.
const SHOWN_KEY: &str = "tandem:show-authors";

impl AuthorsView {
    /// A view with the toggle as this browser last left it.
    pub(crate) fn remembered() -> Self {
        Self::new(storage::get(SHOWN_KEY).is_some_and(|v| v == "1"))
    }

    /// A view with authors `shown` or not.
    pub(crate) fn new(shown: bool) -> Self {
        Self {
            shown: RwSignal::new(shown),
            version: RwSignal::new(0),
            at_caret: RwSignal::new(None),
            computed: StoredValue::new(Computed::default()),
        }
    }

    /// Shows or hides authors, and remembers it.
    pub(crate) fn set_shown(&self, shown: bool) {
        self.shown.set(shown);
        let saved = storage::set(SHOWN_KEY, if shown { "1" } else { "0" });
        if let Err(e) = saved {
            leptos::logging::warn!("the authors toggle is not remembered: {e}");
        }
    }

    /// Brings the runs up to date with the document (`edits` since the last
    /// call; `items` reads the whole body when needed) and the room's
    /// `table`. `me` is the yrs client id this page writes with, `when`
    /// writes a restored version's time. Returns whether the body was read
    /// whole. Bumps [`AuthorsView::version`] when anything changed.
    pub(crate) fn refresh(
        &self,
        edits: Vec<BodyEdit>,
        items: impl FnOnce() -> Option<Vec<ItemSpan>>,
        table: &Authorship,
        me: u64,
        when: impl Fn(i64) -> String,
    ) -> bool {
        let mut read_whole = false;
        let changed = self.computed.try_update_value(|c| {
            let mut changed = false;
            if c.pieces.is_some() {
                for edit in &edits {
                    let fits = match (edit, c.pieces.as_mut()) {
                        (
                            BodyEdit::Steps {
                                steps,
                                client,
                                clock,
                            },
                            Some(pieces),
                        ) => pieces.apply(steps, *client, *clock),
                        _ => false,
                    };
                    if !fits {
                        c.pieces = None;
                        break;
                    }
                    changed = true;
                }
            }
            if c.pieces.is_none() {
                let Some(spans) = items() else {
                    return false;
                };
                c.pieces = Some(Pieces::from_spans(&spans));
                read_whole = true;
                changed = true;
            }
            if c.table != *table || c.shown.len() != table.authors.len() {
                c.table = table.clone();
                c.lookup = table.lookup();
                c.shown = shown_authors(table, me, &when);
                changed = true;
            }
            if changed {
                c.runs = c
                    .pieces
                    .as_ref()
                    .map(|p| p.runs(&c.lookup))
                    .unwrap_or_default();
            }
            changed
        });
        if changed == Some(true) {
            self.version.update(|v| *v += 1);
        }
        read_whole
    }

    /// Forgets the pieces (authors hidden): the next refresh reads the body.
    pub(crate) fn forget(&self) {
        self.computed.update_value(|c| {
            c.pieces = None;
            c.runs.clear();
        });
    }

    /// Runs `f` on the runs and the authors as shown.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&[Run], &[Shown]) -> R) -> Option<R> {
        self.computed.try_with_value(|c| f(&c.runs, &c.shown))
    }

    /// Who wrote the character at UTF-16 offset `at` of the body (the one
    /// before it at the end), as shown.
    pub(crate) fn label_at(&self, at: u32) -> Option<String> {
        self.with(|runs, shown| {
            let i = runs.partition_point(|r| r.to <= at);
            let run = runs.get(i).or_else(|| runs.last())?;
            Some(label_of(run.author, shown))
        })
        .flatten()
    }

    /// The legend: each author with text in the body and their share,
    /// largest first.
    pub(crate) fn shares(&self) -> Vec<Share> {
        self.with(|runs, shown| {
            let total: u32 = runs.iter().map(|r| r.to - r.from).sum();
            shares(runs)
                .into_iter()
                .map(|(author, units)| Share {
                    author,
                    label: label_of(author, shown),
                    color: author.and_then(|i| shown.get(i)).map(|a| a.color.clone()),
                    is_you: author.and_then(|i| shown.get(i)).is_some_and(|a| a.is_you),
                    percent: if total == 0 {
                        0
                    } else {
                        ((u64::from(units) * 200 / u64::from(total)).div_ceil(2)) as u32
                    },
                })
                .collect()
        })
        .unwrap_or_default()
    }
}

/// The name of author position `author` (`None`: not recorded).
pub(crate) fn label_of(author: Option<usize>, shown: &[Shown]) -> String {
    author
        .and_then(|i| shown.get(i))
        .map_or_else(|| UNKNOWN_AUTHOR.to_owned(), |a| a.label.clone())
}

/// The table's authors as the page shows them; the one whose claims cover
/// client id `me` is this person.
fn shown_authors(table: &Authorship, me: u64, when: &impl Fn(i64) -> String) -> Vec<Shown> {
    let mine: Vec<&tandem_shared::authors::AuthorId> = table
        .claims
        .iter()
        .filter(|c| c.client == me)
        .map(|c| &c.author)
        .collect();
    table
        .authors
        .iter()
        .map(|author: &Author| Shown {
            label: author.label(when),
            color: author.color.clone(),
            tint_light: tint(&author.color, Scheme::Light),
            tint_dark: tint(&author.color, Scheme::Dark),
            is_you: mine.contains(&&author.id),
            kind: author.kind,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use tandem_shared::authors::{AuthorId, Claim, Step};

    use super::*;

    fn author(id: &str, name: &str, color: &str) -> Author {
        Author {
            id: AuthorId::new(id).expect("id"),
            kind: AuthorKind::Person,
            name: name.into(),
            color: color.into(),
            restored: None,
        }
    }

    fn table() -> Authorship {
        Authorship {
            authors: vec![
                author("pa", "Ada", "#d23f4a"),
                author("pb", "Bob", "#1a7bb8"),
            ],
            claims: vec![
                Claim {
                    client: 1,
                    clock: 0,
                    author: AuthorId::new("pa").expect("id"),
                },
                Claim {
                    client: 2,
                    clock: 0,
                    author: AuthorId::new("pb").expect("id"),
                },
            ],
        }
    }

    fn span(client: u64, clock: u32, len: u32) -> ItemSpan {
        ItemSpan { client, clock, len }
    }

    fn no_time(_: i64) -> String {
        String::new()
    }

    #[test]
    fn the_body_is_read_once_then_kept_edit_by_edit() {
        let view = AuthorsView::new(true);
        let reads = std::cell::Cell::new(0);
        let items = || {
            reads.set(reads.get() + 1);
            Some(vec![span(1, 0, 6), span(2, 0, 4)])
        };
        assert!(view.refresh(Vec::new(), items, &table(), 1, no_time));
        // Bob types 2 units at the end; Ada deletes her first unit.
        let edits = vec![
            BodyEdit::Steps {
                steps: vec![Step::Retain(10), Step::Insert(2)],
                client: 2,
                clock: 4,
            },
            BodyEdit::Steps {
                steps: vec![Step::Delete(1)],
                client: 0,
                clock: 0,
            },
        ];
        assert!(!view.refresh(edits, items, &table(), 1, no_time));
        assert_eq!(reads.get(), 1, "kept, not read again");
        let shares = view.shares();
        let seen: Vec<(&str, u32, bool)> = shares
            .iter()
            .map(|s| (s.label.as_str(), s.percent, s.is_you))
            .collect();
        assert_eq!(seen, [("Bob", 55, false), ("Ada", 45, true)]);
        assert_eq!(view.label_at(0).as_deref(), Some("Ada"));
        assert_eq!(view.label_at(5).as_deref(), Some("Bob"));
        assert_eq!(view.label_at(99).as_deref(), Some("Bob"), "the end");

        // Several writers at once: the body is read again.
        assert!(view.refresh(vec![BodyEdit::Reread], items, &table(), 1, no_time));
        assert_eq!(reads.get(), 2);
    }

    #[test]
    fn text_nobody_claimed_is_named_so() {
        let view = AuthorsView::new(true);
        view.refresh(
            Vec::new(),
            || Some(vec![span(9, 0, 3)]),
            &table(),
            1,
            no_time,
        );
        assert_eq!(view.label_at(1).as_deref(), Some(UNKNOWN_AUTHOR));
        assert_eq!(view.shares()[0].color, None);
    }
}
