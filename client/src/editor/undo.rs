//! Which key presses and input events mean undo or redo. Tandem handles both
//! itself (with a yrs `UndoManager` that only knows this person's edits) and
//! keeps the browser's own textarea history out of the way.

/// An undo or a redo request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UndoAction {
    /// Revert this person's last edit.
    Undo,
    /// Reapply the last undone edit.
    Redo,
}

/// The modifier keys held during a key press.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Modifiers {
    pub(crate) ctrl: bool,
    pub(crate) meta: bool,
    pub(crate) shift: bool,
    pub(crate) alt: bool,
}

impl UndoAction {
    /// Ctrl/Cmd+Z undoes; Ctrl/Cmd+Shift+Z and Ctrl+Y redo. `key` is
    /// `KeyboardEvent.key`, `code` its physical key (so layouts where Z is
    /// not Latin still work).
    pub(crate) fn from_shortcut(key: &str, code: &str, mods: Modifiers) -> Option<Self> {
        if mods.alt || !(mods.ctrl || mods.meta) {
            return None;
        }
        let is =
            |letter: &str, physical: &str| key.eq_ignore_ascii_case(letter) || code == physical;
        if is("z", "KeyZ") {
            Some(if mods.shift { Self::Redo } else { Self::Undo })
        } else if is("y", "KeyY") && mods.ctrl && !mods.shift {
            Some(Self::Redo)
        } else {
            None
        }
    }

    /// The history request carried by a `beforeinput` event (e.g. Edit → Undo
    /// in the context menu), from its `inputType`.
    pub(crate) fn from_input_type(input_type: &str) -> Option<Self> {
        match input_type {
            "historyUndo" => Some(Self::Undo),
            "historyRedo" => Some(Self::Redo),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTRL: Modifiers = Modifiers {
        ctrl: true,
        meta: false,
        shift: false,
        alt: false,
    };
    const CMD: Modifiers = Modifiers {
        ctrl: false,
        meta: true,
        shift: false,
        alt: false,
    };

    fn shift(m: Modifiers) -> Modifiers {
        Modifiers { shift: true, ..m }
    }

    #[test]
    fn shortcuts() {
        use UndoAction::*;
        assert_eq!(UndoAction::from_shortcut("z", "KeyZ", CTRL), Some(Undo));
        assert_eq!(UndoAction::from_shortcut("z", "KeyZ", CMD), Some(Undo));
        assert_eq!(
            UndoAction::from_shortcut("Z", "KeyZ", shift(CTRL)),
            Some(Redo)
        );
        assert_eq!(
            UndoAction::from_shortcut("Z", "KeyZ", shift(CMD)),
            Some(Redo)
        );
        assert_eq!(UndoAction::from_shortcut("y", "KeyY", CTRL), Some(Redo));
        // A Cyrillic layout still has Z where Z is.
        assert_eq!(UndoAction::from_shortcut("я", "KeyZ", CTRL), Some(Undo));
    }

    #[test]
    fn other_keys_are_left_alone() {
        let none = Modifiers::default();
        assert_eq!(UndoAction::from_shortcut("z", "KeyZ", none), None);
        assert_eq!(UndoAction::from_shortcut("c", "KeyC", CTRL), None);
        assert_eq!(UndoAction::from_shortcut("y", "KeyY", CMD), None);
        let alt = Modifiers { alt: true, ..CTRL };
        assert_eq!(UndoAction::from_shortcut("z", "KeyZ", alt), None);
    }

    #[test]
    fn input_types() {
        assert_eq!(
            UndoAction::from_input_type("historyUndo"),
            Some(UndoAction::Undo)
        );
        assert_eq!(
            UndoAction::from_input_type("historyRedo"),
            Some(UndoAction::Redo)
        );
        assert_eq!(UndoAction::from_input_type("insertText"), None);
    }
}
