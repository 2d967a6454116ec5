//! The formatting toolbar above the editor: the Markdown actions of the
//! shortcuts (`tandem_shared::markdown::edit`) for mouse and touch, each
//! one edit and one undo step; and the Outline toggle. The formatting
//! buttons show only for people who may edit, while the editor shows. On
//! phones the less used half folds behind "More".

use std::rc::Rc;

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use tandem_shared::markdown::edit::Action;
use wasm_bindgen::JsCast;

use crate::editor::SharedDoc;
use crate::markdown::ViewMode;
use crate::markdown::keys::{aria_shortcut, shortcut_label};

/// One button: its action, name, test id and what it shows: a symbol, or
/// (when `glyph` is empty) the SVG path `icon` (letters would have to be
/// part of the button's name, which is a word).
struct Tool {
    action: Action,
    name: &'static str,
    id: &'static str,
    glyph: &'static str,
    icon: &'static str,
}

/// Always shown.
const MAIN: [Tool; 5] = [
    Tool {
        action: Action::Bold,
        name: "Bold",
        id: "md-bold",
        glyph: "B",
        icon: "",
    },
    Tool {
        action: Action::Italic,
        name: "Italic",
        id: "md-italic",
        glyph: "I",
        icon: "",
    },
    Tool {
        action: Action::Link,
        name: "Link",
        id: "md-link",
        glyph: "",
        icon: "M8.5 11.5a3 3 0 0 0 4.2 0l2.6-2.6a3 3 0 0 0-4.2-4.2L10 5.8M11.5 8.5a3 3 0 0 0-4.2 0l-2.6 2.6a3 3 0 0 0 4.2 4.2l1.1-1.1",
    },
    Tool {
        action: Action::HeadingLarger,
        name: "Larger heading",
        id: "md-heading-up",
        glyph: "",
        icon: "M3 4v12M9 4v12M3 10h6M13 8l2.5-3 2.5 3M15.5 5v10",
    },
    Tool {
        action: Action::BulletList,
        name: "Bulleted list",
        id: "md-bullets",
        glyph: "•",
        icon: "",
    },
];

/// Behind "More" on phones.
const MORE: [Tool; 5] = [
    Tool {
        action: Action::Code,
        name: "Code",
        id: "md-code",
        glyph: "</>",
        icon: "",
    },
    Tool {
        action: Action::HeadingSmaller,
        name: "Smaller heading",
        id: "md-heading-down",
        glyph: "",
        icon: "M3 4v12M9 4v12M3 10h6M13 12l2.5 3 2.5-3M15.5 5v10",
    },
    Tool {
        action: Action::NumberedList,
        name: "Numbered list",
        id: "md-numbers",
        glyph: "",
        icon: "M9 5h8M9 10h8M9 15h8M3 4h1.5v3.5M3 9.5h2.5L3 12.5h2.5M3 14h2.5v3.5H3M4 15.75h1.5",
    },
    Tool {
        action: Action::TaskList,
        name: "Task list",
        id: "md-tasks",
        glyph: "☑",
        icon: "",
    },
    Tool {
        action: Action::Quote,
        name: "Quote",
        id: "md-quote",
        glyph: "❝",
        icon: "",
    },
];

/// `md-bar`: `md-toolbar` and `outline-toggle`.
#[component]
pub(crate) fn MarkdownToolbar(
    doc: Rc<SharedDoc>,
    read_only: RwSignal<bool>,
    mode: RwSignal<ViewMode>,
    outline_open: RwSignal<bool>,
) -> impl IntoView {
    let doc = SendWrapper::new(doc);
    let more_open = RwSignal::new(false);
    let apple = web_sys::window()
        .and_then(|w| w.navigator().platform().ok())
        .is_some_and(|p| p.starts_with("Mac") || p.starts_with("iP"));
    let button = move |tool: &Tool| {
        let doc = doc.clone();
        let action = tool.action;
        let title = match shortcut_label(action, apple) {
            Some(keys) => format!("{} ({keys})", tool.name),
            None => tool.name.to_owned(),
        };
        view! {
            <button
                type="button"
                class="md-tool"
                data-testid=tool.id
                aria-label=tool.name
                aria-keyshortcuts=aria_shortcut(action)
                title=title
                // The text keeps its focus and selection while the button is pressed.
                on:mousedown=|ev: web_sys::MouseEvent| ev.prevent_default()
                on:click=move |_| {
                    doc.markdown_action(action);
                    focus_editor();
                }
            >
                {if tool.glyph.is_empty() {
                    view! {
                        <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                            <path d=tool.icon class="icon-stroke"></path>
                        </svg>
                    }
                        .into_any()
                } else {
                    view! { <span aria-hidden="true">{tool.glyph}</span> }.into_any()
                }}
            </button>
        }
    };
    let editing = move || !read_only.get() && mode.get().shows_editor();
    view! {
        <section class="md-bar" aria-label="Markdown tools" data-testid="md-bar">
            <Show when=editing>
                <div
                    class="md-toolbar"
                    role="toolbar"
                    aria-label="Formatting"
                    data-testid="md-toolbar"
                    class:more-open=move || more_open.get()
                >
                    {MAIN.iter().map(&button).collect_view()}
                    <button
                        type="button"
                        class="md-tool md-more-toggle"
                        data-testid="md-more"
                        aria-label="More formatting"
                        aria-expanded=move || more_open.get().to_string()
                        title="More formatting"
                        on:click=move |_| more_open.update(|o| *o = !*o)
                    >
                        <span aria-hidden="true">"⋯"</span>
                    </button>
                    <span class="md-toolbar-more">{MORE.iter().map(&button).collect_view()}</span>
                </div>
            </Show>
            <button
                type="button"
                class="btn btn-secondary btn-header outline-toggle"
                data-testid="outline-toggle"
                aria-expanded=move || outline_open.get().to_string()
                title="Outline"
                on:click=move |_| outline_open.update(|o| *o = !*o)
            >
                <svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true">
                    <path d="M4 5h12M7 10h9M10 15h6" class="icon-stroke"></path>
                </svg>
                <span class="outline-label">"Outline"</span>
            </button>
        </section>
    }
}

/// Puts the keyboard focus back in the body.
fn focus_editor() {
    let editor = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("textarea.editor").ok().flatten())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(editor) = editor {
        let _ = editor.focus();
    }
}
