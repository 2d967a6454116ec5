//! A small promise wrapper over the browser's IndexedDB, enough for the
//! offline copy ([`crate::editor`]'s `local_copy`): open a database, await a
//! request, await a transaction's end. Written on web-sys rather than taken
//! from a crate to keep the page's wasm small (issue 17).
//!
//! Awaiting a request inside a transaction is safe: the request's success
//! event resolves a promise, and the promise's reactions (and so the Rust
//! task, which wasm-bindgen-futures polls from a microtask) run before the
//! event's dispatch ends, while the transaction still accepts requests.

use js_sys::{Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{DomException, IdbDatabase, IdbRequest, IdbTransaction};

/// Why an IndexedDB operation failed.
#[derive(Debug, Clone)]
pub(crate) enum IdbError {
    /// No IndexedDB here, or the browser refuses it for this page (some
    /// private modes, sandboxed frames, blocked site data).
    Unavailable(String),
    /// The origin's storage quota is used up (`QuotaExceededError`).
    QuotaExceeded(String),
    /// Any other failure, with the browser's `DOMException` name and message.
    Failed(String),
}

// By hand rather than with thiserror: the client has no proc-macro
// dependency for errors (see `crate::error`).
impl std::fmt::Display for IdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(e) => write!(f, "IndexedDB is unavailable: {e}"),
            Self::QuotaExceeded(e) => write!(f, "storage is full: {e}"),
            Self::Failed(e) => write!(f, "IndexedDB failed: {e}"),
        }
    }
}

impl std::error::Error for IdbError {}

impl IdbError {
    fn from_exception(e: Option<DomException>, fallback: &str) -> Self {
        match e {
            Some(e) if e.name() == "QuotaExceededError" => Self::QuotaExceeded(e.message()),
            Some(e) if e.name() == "SecurityError" || e.name() == "InvalidStateError" => {
                Self::Unavailable(format!("{}: {}", e.name(), e.message()))
            }
            Some(e) => Self::Failed(format!("{}: {}", e.name(), e.message())),
            None => Self::Failed(fallback.to_owned()),
        }
    }

    /// A synchronous throw from an IndexedDB method (a `DOMException`).
    pub(crate) fn thrown(e: JsValue) -> Self {
        Self::from_exception(e.dyn_into::<DomException>().ok(), "unexpected exception")
    }
}

/// Opens database `name` at `version`; `upgrade` creates its object stores
/// when the browser has an older version (or none).
pub(crate) async fn open(
    name: &str,
    version: u32,
    upgrade: impl Fn(&IdbDatabase) -> Result<(), JsValue> + 'static,
) -> Result<IdbDatabase, IdbError> {
    let factory = web_sys::window()
        .ok_or_else(|| IdbError::Unavailable("no window".into()))?
        .indexed_db()
        .map_err(|e| IdbError::Unavailable(format!("{e:?}")))?
        .ok_or_else(|| IdbError::Unavailable("indexedDB is null".into()))?;
    let request = factory
        .open_with_u32(name, version)
        .map_err(|e| IdbError::Unavailable(format!("{e:?}")))?;
    let on_upgrade = Closure::<dyn Fn(web_sys::Event)>::new({
        let request = request.clone();
        move |_| {
            let created = request
                .result()
                .and_then(|db| upgrade(db.unchecked_ref::<IdbDatabase>()));
            if let Err(e) = created {
                leptos::logging::warn!("IndexedDB upgrade failed: {e:?}");
                // Aborting the upgrade fails the open with an error event.
                if let Some(tx) = request.transaction() {
                    let _ = tx.abort();
                }
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let opened = settle(&request).await;
    request.set_onupgradeneeded(None);
    drop(on_upgrade);
    let db: IdbDatabase = opened
        .map(JsCast::unchecked_into)
        // A refused open is a refusal, whatever the exception's name.
        .map_err(|e| match e {
            IdbError::Failed(e) => IdbError::Unavailable(e),
            other => other,
        })?;
    // A later version opened in another tab waits until every connection to
    // this one closes: close this one then (its writes fail from there on,
    // and the page says so, rather than blocking the new version).
    let close = Closure::<dyn Fn()>::new({
        let db = db.clone();
        move || db.close()
    });
    // Handed to the JS garbage collector, which frees it with the database.
    let close = close.into_js_value();
    db.set_onversionchange(Some(close.unchecked_ref()));
    Ok(db)
}

/// The result of `request` once it succeeds.
pub(crate) async fn settle(request: &IdbRequest) -> Result<JsValue, IdbError> {
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let settled = JsFuture::from(promise).await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    match settled {
        Ok(_) => request.result().map_err(IdbError::thrown),
        Err(_) => Err(IdbError::from_exception(
            request.error().ok().flatten(),
            "request failed",
        )),
    }
}

/// Awaits `request` as [`settle`] does, for requests made by a call that
/// may throw first.
pub(crate) async fn run(request: Result<IdbRequest, JsValue>) -> Result<JsValue, IdbError> {
    settle(&request.map_err(IdbError::thrown)?).await
}

/// Waits until `tx` commits; an abort (a full disk or quota, a failed
/// request, [`IdbTransaction::abort`]) is an error.
pub(crate) async fn done(tx: &IdbTransaction) -> Result<(), IdbError> {
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onabort(Some(&reject));
    });
    let settled = JsFuture::from(promise).await;
    tx.set_oncomplete(None);
    tx.set_onabort(None);
    settled
        .map(drop)
        .map_err(|_| IdbError::from_exception(tx.error(), "transaction aborted"))
}
