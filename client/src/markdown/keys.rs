//! Which key presses in the body are Markdown actions (see
//! `tandem_shared::markdown::edit` for what each does).

use tandem_shared::markdown::edit::Action;

use crate::editor::Modifiers;

/// The action of a `keydown` with `key` (`KeyboardEvent.key`), `code` (the
/// physical key, so layouts where B is not Latin still work) and `mods`.
/// `alt_graph` is AltGr, which some layouts need to type characters and
/// which browsers report as Ctrl+Alt: such presses are never shortcuts.
pub(crate) fn action_for_key(
    key: &str,
    code: &str,
    mods: Modifiers,
    alt_graph: bool,
) -> Option<Action> {
    let command = mods.ctrl || mods.meta;
    if alt_graph {
        return None;
    }
    if !command && !mods.alt {
        return match (key, mods.shift) {
            ("Enter", false) => Some(Action::NewLine),
            ("Tab", false) => Some(Action::Indent),
            ("Tab", true) => Some(Action::Outdent),
            _ => None,
        };
    }
    if !command {
        return None;
    }
    let is = |letter: &str, physical: &str| key.eq_ignore_ascii_case(letter) || code == physical;
    match (mods.shift, mods.alt) {
        (false, false) if is("b", "KeyB") => Some(Action::Bold),
        (false, false) if is("i", "KeyI") => Some(Action::Italic),
        (false, false) if is("k", "KeyK") => Some(Action::Link),
        (false, false) if is("e", "KeyE") => Some(Action::Code),
        (true, false) if code == "Digit7" => Some(Action::NumberedList),
        (true, false) if code == "Digit8" => Some(Action::BulletList),
        (_, true) if matches!(code, "Equal" | "NumpadAdd") => Some(Action::HeadingLarger),
        (_, true) if matches!(code, "Minus" | "NumpadSubtract") => Some(Action::HeadingSmaller),
        _ => None,
    }
}

/// How the shortcut of `action` is written for people, on Apple systems
/// (`apple`) or others; `None` for actions with no shortcut of their own.
pub(crate) fn shortcut_label(action: Action, apple: bool) -> Option<String> {
    let command = if apple { "⌘" } else { "Ctrl+" };
    let shift = if apple { "⇧" } else { "Shift+" };
    let alt = if apple { "⌥" } else { "Alt+" };
    let label = match action {
        Action::Bold => format!("{command}B"),
        Action::Italic => format!("{command}I"),
        Action::Link => format!("{command}K"),
        Action::Code => format!("{command}E"),
        Action::NumberedList => format!("{command}{shift}7"),
        Action::BulletList => format!("{command}{shift}8"),
        Action::HeadingLarger => format!("{command}{alt}="),
        Action::HeadingSmaller => format!("{command}{alt}-"),
        _ => return None,
    };
    Some(label)
}

/// `aria-keyshortcuts` of `action`, as the ARIA spec spells keys.
pub(crate) fn aria_shortcut(action: Action) -> Option<&'static str> {
    Some(match action {
        Action::Bold => "Control+B Meta+B",
        Action::Italic => "Control+I Meta+I",
        Action::Link => "Control+K Meta+K",
        Action::Code => "Control+E Meta+E",
        Action::NumberedList => "Control+Shift+7 Meta+Shift+7",
        Action::BulletList => "Control+Shift+8 Meta+Shift+8",
        Action::HeadingLarger => "Control+Alt+= Meta+Alt+=",
        Action::HeadingSmaller => "Control+Alt+- Meta+Alt+-",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Modifiers = Modifiers {
        ctrl: false,
        meta: false,
        shift: false,
        alt: false,
    };
    const CTRL: Modifiers = Modifiers { ctrl: true, ..NONE };
    const CMD: Modifiers = Modifiers { meta: true, ..NONE };

    #[test]
    fn shortcuts_people_know() {
        assert_eq!(action_for_key("b", "KeyB", CTRL, false), Some(Action::Bold));
        assert_eq!(
            action_for_key("i", "KeyI", CMD, false),
            Some(Action::Italic)
        );
        assert_eq!(action_for_key("k", "KeyK", CTRL, false), Some(Action::Link));
        assert_eq!(action_for_key("e", "KeyE", CTRL, false), Some(Action::Code));
        // A Cyrillic layout: the key where B is.
        assert_eq!(action_for_key("и", "KeyB", CTRL, false), Some(Action::Bold));
        let shift = Modifiers {
            shift: true,
            ..CTRL
        };
        assert_eq!(
            action_for_key("&", "Digit7", shift, false),
            Some(Action::NumberedList)
        );
        assert_eq!(
            action_for_key("*", "Digit8", shift, false),
            Some(Action::BulletList)
        );
        let alt = Modifiers { alt: true, ..CTRL };
        assert_eq!(
            action_for_key("=", "Equal", alt, false),
            Some(Action::HeadingLarger)
        );
        assert_eq!(
            action_for_key("-", "Minus", alt, false),
            Some(Action::HeadingSmaller)
        );
        assert_eq!(
            action_for_key("Enter", "Enter", NONE, false),
            Some(Action::NewLine)
        );
        assert_eq!(
            action_for_key("Tab", "Tab", NONE, false),
            Some(Action::Indent)
        );
        let shift_only = Modifiers {
            shift: true,
            ..NONE
        };
        assert_eq!(
            action_for_key("Tab", "Tab", shift_only, false),
            Some(Action::Outdent)
        );
    }

    #[test]
    fn everything_else_is_left_alone() {
        assert_eq!(action_for_key("b", "KeyB", NONE, false), None);
        assert_eq!(action_for_key("z", "KeyZ", CTRL, false), None);
        let shift = Modifiers {
            shift: true,
            ..NONE
        };
        assert_eq!(action_for_key("Enter", "Enter", shift, false), None);
        let alt = Modifiers { alt: true, ..CTRL };
        // AltGr typing a character is not a shortcut.
        assert_eq!(action_for_key("=", "Equal", alt, true), None);
        assert_eq!(action_for_key("b", "KeyB", alt, false), None);
        assert_eq!(shortcut_label(Action::Bold, true).as_deref(), Some("⌘B"));
        assert_eq!(shortcut_label(Action::NewLine, false), None);
    }
}
