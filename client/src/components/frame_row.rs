//! One frame in the inspector: a one-line summary that expands to the
//! frame's pretty-printed JSON or a hex dump.

use std::sync::Arc;

use leptos::prelude::*;

use crate::inspector::{Body, FrameRecord, KEPT_BYTES, clock, hex_dump, pretty_json, size};

/// `frame-row`.
#[component]
pub(crate) fn FrameRow(record: Arc<FrameRecord>) -> impl IntoView {
    let expanded = RwSignal::new(false);
    let detail_id = format!("frame-detail-{}", record.id);
    let detail = {
        let record = Arc::clone(&record);
        move || expanded.get().then(|| details(&record))
    };
    let direction_label = record.direction.key();
    view! {
        <li
            class="frame-row"
            data-testid="frame-row"
            data-direction=record.direction.key()
            data-kind=record.kind.clone()
            data-summary=record.summary.clone()
            class:is-open=move || expanded.get()
        >
            <button
                type="button"
                class="frame-head"
                aria-expanded=move || expanded.get().to_string()
                aria-controls=detail_id.clone()
                on:click=move |_| expanded.update(|open| *open = !*open)
            >
                <span class="frame-time">{local_clock(record.at_ms)}</span>
                <span
                    class="frame-dir"
                    data-direction=record.direction.key()
                    title=direction_label
                >
                    {record.direction.arrow()}
                    <span class="sr-only">{direction_label}</span>
                </span>
                <span class="frame-format">{record.format()}</span>
                <span class="frame-kind" data-kind=record.kind.clone()>
                    {record.kind.replace('_', " ")}
                </span>
                <span class="frame-size">{size(record.size)}</span>
                <span class="frame-summary">{record.summary.clone()}</span>
            </button>
            <div class="frame-detail" id=detail_id>
                {detail}
            </div>
        </li>
    }
}

/// The expanded view of a frame.
fn details(record: &FrameRecord) -> impl IntoView + use<> {
    let (text, note) = match &record.body {
        Body::Text(json) => (pretty_json(json), None),
        Body::Binary(bytes) => (hex_dump(bytes), None),
        Body::Close { code, reason } => (
            format!("code:   {code}\nreason: {reason}"),
            Some("A close frame ends the connection; its code says why (see docs/PROTOCOL.md)."),
        ),
    };
    let cut = record.truncated().then(|| {
        format!(
            "Showing the first {} of {} bytes.",
            size(KEPT_BYTES),
            record.size
        )
    });
    view! {
        <pre class="frame-body">{text}</pre>
        {cut.map(|cut| view! { <p class="frame-note">{cut}</p> })}
        {note.map(|note| view! { <p class="frame-note">{note}</p> })}
    }
}

/// `HH:MM:SS.mmm` in the browser's time zone.
fn local_clock(at_ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms));
    clock(
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds(),
        date.get_milliseconds(),
    )
}
