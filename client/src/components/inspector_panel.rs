//! The frame inspector: a live list of every WebSocket frame this tab sent
//! and received, with filters, pause and clear. Opened from the header
//! button or Ctrl/Cmd+Shift+F.

use leptos::html::Ol;
use leptos::prelude::*;

use super::{CrossIcon, FrameRow};
use crate::inspector::{Category, FrameLog};

/// What the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Only(Category),
}

impl Filter {
    const CHOICES: [(Self, &'static str, &'static str); 5] = [
        (Self::All, "all", "All"),
        (Self::Only(Category::Sync), "sync", "Sync"),
        (Self::Only(Category::Updates), "updates", "Updates"),
        (Self::Only(Category::Presence), "presence", "Presence"),
        (Self::Only(Category::Control), "control", "Control"),
    ];

    fn shows(self, kind: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(category) => Category::of(kind) == category,
        }
    }
}

/// `inspector`.
#[component]
pub(crate) fn InspectorPanel(
    frames: RwSignal<FrameLog>,
    /// Cleared by the panel's close button.
    open: RwSignal<bool>,
) -> impl IntoView {
    let filter = RwSignal::new(Filter::All);
    // While paused, the list stops at the frames recorded before this id.
    let paused_at = RwSignal::new(None::<u64>);
    let list = NodeRef::<Ol>::new();
    // Whether the list follows new frames (it does while scrolled to the end).
    let follow = RwSignal::new(true);

    let rows = move || {
        let filter = filter.get();
        let until = paused_at.get().unwrap_or(u64::MAX);
        frames.with(|log| {
            log.records()
                .filter(|r| r.id < until && filter.shows(&r.kind))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let waiting = move || {
        let until = paused_at.get()?;
        let newer = frames.with(|log| log.records().filter(|r| r.id >= until).count());
        Some(match newer {
            1 => "1 new frame".to_owned(),
            n => format!("{n} new frames"),
        })
    };
    let shown = move || frames.with(|log| log.records().count());

    // Stay at the newest frame unless the person scrolled up to read.
    Effect::new(move |_| {
        frames.track();
        filter.track();
        if follow.get_untracked()
            && let Some(list) = list.get_untracked()
        {
            list.set_scroll_top(list.scroll_height());
        }
    });
    let on_scroll = move |_| {
        if let Some(list) = list.get_untracked() {
            let from_end = list.scroll_height() - list.scroll_top() - list.client_height();
            follow.set(from_end < 24);
        }
    };
    let toggle_pause = move |_| {
        let next = if paused_at.get_untracked().is_some() {
            None
        } else {
            Some(frames.with_untracked(FrameLog::next_id))
        };
        paused_at.set(next);
    };

    // Opening the inspector moves the focus into it (the panel, named
    // "Frame inspector"; Tab goes on to its filters and frames).
    let panel = NodeRef::<leptos::html::Aside>::new();
    super::popover::focus_when_shown(panel);

    view! {
        <aside
            class="inspector"
            node_ref=panel
            tabindex="-1"
            id="inspector"
            data-testid="inspector"
            aria-label="Frame inspector"
            on:keydown=move |ev: web_sys::KeyboardEvent| {
                if ev.key() == "Escape" {
                    open.set(false);
                }
            }
        >
            <div class="inspector-head">
                <h2 class="inspector-title">"Frames"</h2>
                <span class="inspector-count muted small">
                    {move || format!("{} kept", shown())}
                </span>
                <button
                    type="button"
                    class="icon-btn"
                    aria-label="Close the frame inspector"
                    title="Close (Esc)"
                    on:click=move |_| open.set(false)
                >
                    <CrossIcon/>
                </button>
            </div>
            <p class="inspector-note">
                "Browsers hide WebSocket ping/pong control frames from pages (and from DevTools); "
                "to watch this socket's raw frames, open DevTools → Network → WS → Messages. "
                "The ping and pong listed here are Tandem's app-level heartbeat."
            </p>
            <div class="inspector-tools">
                <div class="segmented" role="group" aria-label="Show frames">
                    {Filter::CHOICES
                        .into_iter()
                        .map(|(choice, key, label)| {
                            view! {
                                <button
                                    type="button"
                                    class="segment"
                                    data-testid=format!("inspector-filter-{key}")
                                    aria-pressed=move || (filter.get() == choice).to_string()
                                    on:click=move |_| filter.set(choice)
                                >
                                    {label}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
                <div class="inspector-actions">
                    <button
                        type="button"
                        class="btn btn-small btn-secondary"
                        data-testid="inspector-pause"
                        aria-pressed=move || paused_at.get().is_some().to_string()
                        on:click=toggle_pause
                    >
                        {move || if paused_at.get().is_some() { "Resume" } else { "Pause" }}
                    </button>
                    <button
                        type="button"
                        class="btn btn-small btn-secondary"
                        data-testid="inspector-clear"
                        on:click=move |_| {
                            frames.update(FrameLog::clear);
                            if paused_at.get_untracked().is_some() {
                                paused_at.set(Some(frames.with_untracked(FrameLog::next_id)));
                            }
                        }
                    >
                        "Clear"
                    </button>
                </div>
            </div>
            {move || {
                waiting()
                    .map(|waiting| {
                        view! {
                            <p class="inspector-paused" role="status">
                                "Paused — " {waiting} " waiting. Resume to see them."
                            </p>
                        }
                    })
            }}
            <ol class="frame-list" node_ref=list on:scroll=on_scroll aria-live="off">
                <For
                    each=rows
                    key=|record| record.id
                    children=|record| view! { <FrameRow record=record/> }
                />
            </ol>
            <Show when=move || {
                let filter = filter.get();
                let until = paused_at.get().unwrap_or(u64::MAX);
                frames.with(|log| !log.records().any(|r| r.id < until && filter.shows(&r.kind)))
            }>
                <p class="inspector-empty muted small">"No frames to show."</p>
            </Show>
        </aside>
    }
}
