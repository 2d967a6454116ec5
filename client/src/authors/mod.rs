//! Who wrote what, in the page (issue 28): the runs of one author each over
//! the body, kept as people type, and their tints in the editor and the
//! preview.
//!
//! - [`state`]: [`AuthorsView`], the runs and the authors as shown, the
//!   "Show authors" toggle (no DOM: tested natively).
//! - [`align`]: the preview's characters laid against the Markdown source
//!   (pure, tested natively).
//! - [`tint`]: the tints in the DOM, block by block, redone only where the
//!   runs changed.
//!
//! The server's authorship reaches the page through the session
//! (`welcome`, `authors`) into `DocSignals::authorship`; what each
//! transaction did to the body comes from the replica (`BodyEdit`). The
//! components `AuthorsToggle`, `AuthorsLegend` and `AuthorTints` show it.

pub(crate) mod align;
mod state;
pub(crate) mod tint;

pub(crate) use state::{AuthorsView, Share, label_of};

/// Runs `f`, recording how long it took as a User Timing measure named as
/// `f` says (what the `authors-perf` measurement reads from the page).
pub(crate) fn timed<R>(f: impl FnOnce() -> (R, &'static str)) -> R {
    let performance = web_sys::window().and_then(|w| w.performance());
    let Some(performance) = performance else {
        return f().0;
    };
    let (start, end) = ("tandem:authors:start", "tandem:authors:end");
    let _ = performance.mark(start);
    let (result, name) = f();
    let _ = performance.mark(end);
    let _ = performance.measure_with_start_mark_and_end_mark(name, start, end);
    performance.clear_marks_with_mark_name(start);
    performance.clear_marks_with_mark_name(end);
    result
}

/// A version's time as the reader reads times, for a restore's name.
pub(crate) fn local_time(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}
