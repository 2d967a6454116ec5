//! [`ViewMode`]: what the document page shows, remembered per browser.

/// Edit, Split or Preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ViewMode {
    /// The editor alone.
    Edit,
    /// The editor and the preview side by side (stacked on phones).
    Split,
    /// The preview alone.
    Preview,
}

/// The `localStorage` key the last chosen mode is kept under.
pub(crate) const STORAGE_KEY: &str = "tandem:view-mode";

impl ViewMode {
    /// All modes, in the order the switch shows them.
    pub(crate) const ALL: [ViewMode; 3] = [Self::Edit, Self::Split, Self::Preview];

    /// The stored and `data-` name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Split => "split",
            Self::Preview => "preview",
        }
    }

    /// The label people read.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Edit => "Edit",
            Self::Split => "Split",
            Self::Preview => "Preview",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == stored)
    }

    /// The mode a page opens in: Preview for a view link (its reader cannot
    /// edit), else the mode this browser last chose, else Split (Edit on a
    /// narrow screen, where two panes do not fit).
    pub(crate) fn initial(stored: Option<&str>, view_link: bool, narrow: bool) -> Self {
        if view_link {
            return Self::Preview;
        }
        match stored.and_then(Self::parse) {
            Some(mode) => mode,
            None if narrow => Self::Edit,
            None => Self::Split,
        }
    }

    /// The mode the page of a link with `key` opens in, from this browser's
    /// choice and the screen's width.
    pub(crate) fn opening(key: Option<&str>) -> Self {
        let view_link = key.is_some_and(|k| k.starts_with("v."));
        let narrow = web_sys::window()
            .and_then(|w| w.inner_width().ok()?.as_f64())
            .is_some_and(|width| width <= 720.0);
        Self::initial(
            crate::storage::get(STORAGE_KEY).as_deref(),
            view_link,
            narrow,
        )
    }

    /// Whether the editor shows.
    pub(crate) fn shows_editor(self) -> bool {
        self != Self::Preview
    }

    /// Whether the preview shows.
    pub(crate) fn shows_preview(self) -> bool {
        self != Self::Edit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opening_mode() {
        assert_eq!(
            ViewMode::initial(Some("edit"), true, false),
            ViewMode::Preview
        );
        assert_eq!(
            ViewMode::initial(Some("edit"), false, false),
            ViewMode::Edit
        );
        assert_eq!(
            ViewMode::initial(Some("preview"), false, true),
            ViewMode::Preview
        );
        assert_eq!(ViewMode::initial(None, false, false), ViewMode::Split);
        assert_eq!(
            ViewMode::initial(Some("nonsense"), false, true),
            ViewMode::Edit
        );
        for mode in ViewMode::ALL {
            assert_eq!(ViewMode::parse(mode.as_str()), Some(mode));
        }
    }
}
