//! Word and character counts for the footer.

/// Counts of the document body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DocStats {
    /// Runs of non-whitespace characters.
    pub(crate) words: usize,
    /// Unicode scalar values (an emoji counts once, as a person sees it).
    pub(crate) chars: usize,
}

impl DocStats {
    /// The counts of `text`.
    pub(crate) fn of(text: &str) -> Self {
        Self {
            words: text.split_whitespace().count(),
            chars: text.chars().count(),
        }
    }

    /// "12 words · 64 characters".
    pub(crate) fn label(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{} · {}",
            plural(self.words, "word", "words"),
            plural(self.chars, "character", "characters")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words_and_characters() {
        assert_eq!(DocStats::of(""), DocStats { words: 0, chars: 0 });
        assert_eq!(
            DocStats::of("  hello,\n\tworld  "),
            DocStats {
                words: 2,
                chars: 17
            }
        );
        assert_eq!(DocStats::of("naïve 👋"), DocStats { words: 2, chars: 7 });
    }

    #[test]
    fn labels_read_naturally() {
        assert_eq!(
            DocStats {
                words: 12,
                chars: 64
            }
            .label(),
            "12 words · 64 characters"
        );
        assert_eq!(
            DocStats { words: 1, chars: 1 }.label(),
            "1 word · 1 character"
        );
        assert_eq!(DocStats::default().label(), "0 words · 0 characters");
    }
}
