//! [`Page`]: one Chromium session, with the few verbs a test needs, each
//! failing with a message that says what was expected and what was seen.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::actions::{InputSource as _, KeyAction, KeyActions, MouseActions, PointerAction};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::frames::{self, Frame, WsEvent};
use crate::keys::ESCAPE;
use crate::stored_copy::{self, StoredCopy};
use crate::{DEADLINE, key_of, poll, tid};
use tandem_testkit::try_poll;

/// A document a test started with [`Page::new_document`].
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// Its room name.
    pub room: String,
    /// The edit key its address carries.
    pub key: String,
    /// The address the page landed on (`/d/{room}#key=…`).
    pub url: url::Url,
}

/// A browser session (a tab with its own profile) pointed at a server.
/// Cheap to clone; clones drive the same session.
#[derive(Debug, Clone)]
pub struct Page {
    /// The WebDriver session.
    client: Client,
    /// `http://127.0.0.1:<port>`, which [`Page::goto`] paths are relative to.
    base: String,
    /// The session's `--user-data-dir`, removed by [`Page::close`].
    profile: PathBuf,
    /// Every WebSocket event read from the performance log so far: reading
    /// the log drains it, so what was read is kept here. A std mutex: it is
    /// only held to append or copy, never across an `.await`.
    events: Arc<Mutex<Vec<WsEvent>>>,
}

impl Page {
    pub(crate) fn new(client: Client, base: &str, profile: PathBuf) -> Self {
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            profile,
            events: Arc::default(),
        }
    }

    /// The underlying fantoccini client, for anything the helpers lack.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Loads `path` (e.g. `/d/my-room`) from the server, or an absolute URL.
    pub async fn goto(&self, path: &str) {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        if let Err(err) = self.client.goto(&url).await {
            panic!("cannot load {url}: {err}");
        }
    }

    /// Loads the editor at `path` (e.g. `/d/my-room` or a share link) and
    /// waits until it is connected to its room and shows the text field. A
    /// view link opens in Preview (issue 26): the person switches to Edit to
    /// see the text field.
    pub async fn open_editor(&self, path: &str) {
        self.goto(path).await;
        self.wait_for_connection("connected", DEADLINE).await;
        let mode = self.attr(".doc-main", "data-mode").await;
        if mode.as_deref() == Some("preview") {
            self.click(&tid("view-edit")).await;
        }
        self.wait_for(&tid("editor"), DEADLINE).await;
    }

    /// Starts a new document as a person does (home page, "New document")
    /// and waits until its editor is connected: the one "new document"
    /// step of every browser test.
    pub async fn new_document(&self) -> NewDocument {
        self.goto("/").await;
        self.click(&tid("new-doc")).await;
        let url = self
            .wait_for_path("/d/{room}", DEADLINE, |p| p.starts_with("/d/"))
            .await;
        let room = url.path().trim_start_matches("/d/").to_owned();
        let key = key_of(url.as_str());
        self.wait_for_connection("connected", DEADLINE).await;
        self.wait_for(&tid("editor"), DEADLINE).await;
        NewDocument { room, key, url }
    }

    /// Opens the Share popover and reads its edit and view links, then
    /// closes it (Escape).
    pub async fn share_links(&self) -> (String, String) {
        self.click(&tid("share")).await;
        self.wait_for(&tid("share-edit-url"), DEADLINE).await;
        self.wait_for(&tid("share-view-url"), DEADLINE).await;
        let links = (
            self.value(&tid("share-edit-url")).await,
            self.value(&tid("share-view-url")).await,
        );
        self.press_keys(ESCAPE).await;
        self.wait_for_gone(&tid("share-edit-url"), DEADLINE).await;
        links
    }

    /// Waits until the `connection-state` badge says `state` (connecting,
    /// connected, reconnecting, offline or closed).
    pub async fn wait_for_connection(&self, state: &str, deadline: Duration) {
        self.wait_for_attr(&tid("connection-state"), "data-state", state, deadline)
            .await;
    }

    /// The client id the server gave this page's connection, as the
    /// `connection-state` badge shows it while connected.
    pub async fn client_id(&self) -> String {
        self.wait_for_connection("connected", DEADLINE).await;
        match self.attr(&tid("connection-state"), "data-client-id").await {
            Some(id) if !id.is_empty() => id,
            other => panic!("a connected editor shows its client id, got {other:?}"),
        }
    }

    /// Waits until the service worker controls the page: from then on it
    /// holds the app shell, and reloads and hashed assets go through it.
    pub async fn wait_for_service_worker(&self, deadline: Duration) {
        self.wait_for_script(
            "the service worker to control the page",
            deadline,
            "return navigator.serviceWorker && navigator.serviceWorker.controller !== null",
            |ready| ready.as_bool().filter(|r| *r),
        )
        .await;
    }

    /// Reloads the page, as the browser's reload button does.
    pub async fn reload(&self) {
        if let Err(err) = self.client.refresh().await {
            panic!("cannot reload the page: {err}");
        }
    }

    /// The current URL.
    pub async fn url(&self) -> url::Url {
        match self.client.current_url().await {
            Ok(url) => url,
            Err(err) => panic!("cannot read the page's URL: {err}"),
        }
    }

    /// Waits until the URL's path satisfies `pred` (described by `what`,
    /// e.g. "a path /d/{room}") and returns the URL.
    pub async fn wait_for_path(
        &self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> url::Url {
        poll(&format!("the URL to be {what}"), deadline, async || {
            let url = self.client.current_url().await.map_err(|e| e.to_string())?;
            if pred(url.path()) {
                Ok(url)
            } else {
                Err(format!("URL {url}"))
            }
        })
        .await
    }

    /// Waits until an element matching `css` is present and displayed.
    pub async fn wait_for(&self, css: &str, deadline: Duration) -> Element {
        let found = try_poll(deadline, async || {
            let element = self.find(css).await?;
            match element.is_displayed().await {
                Ok(true) => Ok(element),
                Ok(false) => Err("it is present but not displayed".into()),
                Err(err) => Err(err.to_string()),
            }
        })
        .await;
        match found {
            Ok(element) => element,
            Err(seen) => panic!(
                "waited {deadline:?} for `{css}` to be displayed: {seen}\n{}",
                self.describe().await
            ),
        }
    }

    /// Waits until the text of `css` contains `expected`; returns the text.
    pub async fn wait_for_text(&self, css: &str, expected: &str, deadline: Duration) -> String {
        let found = try_poll(deadline, async || {
            let text = self
                .find(css)
                .await?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            if text.contains(expected) {
                Ok(text)
            } else {
                Err(format!("its text is {text:?}"))
            }
        })
        .await;
        match found {
            Ok(text) => text,
            Err(seen) => panic!(
                "waited {deadline:?} for the text of `{css}` to contain {expected:?}: {seen}\n{}",
                self.describe().await
            ),
        }
    }

    /// Waits until attribute `attr` of `css` equals `value`.
    pub async fn wait_for_attr(&self, css: &str, attr: &str, value: &str, deadline: Duration) {
        let found = try_poll(deadline, async || {
            let seen = self
                .find(css)
                .await?
                .attr(attr)
                .await
                .map_err(|e| e.to_string())?;
            match seen {
                Some(seen) if seen == value => Ok(()),
                Some(seen) => Err(format!("{attr}={seen:?}")),
                None => Err(format!("it has no {attr}")),
            }
        })
        .await;
        if let Err(seen) = found {
            panic!(
                "waited {deadline:?} for `{css}` to have {attr}={value:?}: {seen}\n{}",
                self.describe().await
            );
        }
    }

    /// Waits until the `value` of the input or textarea `css` equals
    /// `expected`; returns it.
    pub async fn wait_for_value(&self, css: &str, expected: &str, deadline: Duration) -> String {
        let found = try_poll(deadline, async || {
            let value = self
                .find(css)
                .await?
                .prop("value")
                .await
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            if value == expected {
                Ok(value)
            } else {
                Err(format!("its value is {value:?}"))
            }
        })
        .await;
        match found {
            Ok(value) => value,
            Err(seen) => panic!(
                "waited {deadline:?} for the value of `{css}` to be {expected:?}: {seen}\n{}",
                self.describe().await
            ),
        }
    }

    /// Runs `js` (a function body, as for [`Page::eval`]) until `accept`
    /// takes what it returns, and returns what `accept` made of it. `what`
    /// says what is awaited, for the failure message.
    pub async fn wait_for_script<T>(
        &self,
        what: &str,
        deadline: Duration,
        js: &str,
        accept: impl Fn(&Value) -> Option<T>,
    ) -> T {
        let found = try_poll(deadline, async || {
            let value = self
                .client
                .execute(js, Vec::new())
                .await
                .map_err(|e| e.to_string())?;
            accept(&value).ok_or_else(|| format!("the script returned {value}"))
        })
        .await;
        match found {
            Ok(value) => value,
            Err(seen) => panic!(
                "waited {deadline:?} for {what}: {seen}\nscript: {js}\n{}",
                self.describe().await
            ),
        }
    }

    /// The visible text of `css`, which must be present now.
    pub async fn text(&self, css: &str) -> String {
        match self.find(css).await {
            Ok(element) => element
                .text()
                .await
                .unwrap_or_else(|err| panic!("cannot read the text of `{css}`: {err}")),
            Err(seen) => panic!("`{css}`: {seen}\n{}", self.describe().await),
        }
    }

    /// Attribute `attr` of `css`, which must be present now.
    pub async fn attr(&self, css: &str, attr: &str) -> Option<String> {
        match self.find(css).await {
            Ok(element) => element
                .attr(attr)
                .await
                .unwrap_or_else(|err| panic!("cannot read {attr} of `{css}`: {err}")),
            Err(seen) => panic!("`{css}`: {seen}\n{}", self.describe().await),
        }
    }

    /// The current `value` of the input or textarea `css`.
    pub async fn value(&self, css: &str) -> String {
        match self.find(css).await {
            Ok(element) => element
                .prop("value")
                .await
                .unwrap_or_else(|err| panic!("cannot read the value of `{css}`: {err}"))
                .unwrap_or_default(),
            Err(seen) => panic!("`{css}`: {seen}\n{}", self.describe().await),
        }
    }

    /// Whether an element matches `css` right now.
    pub async fn is_present(&self, css: &str) -> bool {
        self.find(css).await.is_ok()
    }

    /// Waits until nothing matches `css` any more.
    pub async fn wait_for_gone(&self, css: &str, deadline: Duration) {
        poll(&format!("`{css}` to be gone"), deadline, async || {
            if self.is_present(css).await {
                Err("still there".to_owned())
            } else {
                Ok(())
            }
        })
        .await;
    }

    /// Types `text` into `css` as a person would (key events), once it is displayed.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.wait_for(css, DEADLINE).await;
        if let Err(err) = element.send_keys(text).await {
            panic!("cannot type into `{css}`: {err}\n{}", self.describe().await);
        }
    }

    /// Focuses the input or textarea `css` and puts a collapsed caret at
    /// `offset` (UTF-16 code units, as the DOM counts), as a click there would.
    pub async fn set_caret(&self, css: &str, offset: u32) {
        self.wait_for(css, DEADLINE).await;
        let js = "const el = document.querySelector(arguments[0]);\
                  el.focus();\
                  el.setSelectionRange(arguments[1], arguments[1]);\
                  return [el.selectionStart, el.selectionEnd];";
        let seen = self.eval_with(js, vec![json!(css), json!(offset)]).await;
        assert_eq!(
            seen,
            json!([offset, offset]),
            "the caret of `{css}` is at {offset} after setting it there"
        );
    }

    /// Puts the caret of the input or textarea `css` at `offset` and types
    /// `text` there, key by key.
    pub async fn type_at(&self, css: &str, offset: u32, text: &str) {
        self.set_caret(css, offset).await;
        // The field has the focus now, so chromedriver types at its caret
        // (it moves the caret to the end only when it has to focus first).
        self.type_into(css, text).await;
    }

    /// Changes this person's display name in `name-input` as they would:
    /// select what is there and type over it.
    pub async fn set_name(&self, name: &str) {
        let css = tid("name-input");
        self.wait_for(&css, DEADLINE).await;
        let js = "const el = document.querySelector(arguments[0]); el.focus(); el.select();";
        self.eval_with(js, vec![json!(css)]).await;
        self.type_into(&css, name).await;
        self.wait_for_value(&css, name, DEADLINE).await;
    }

    /// `selectionStart` and `selectionEnd` of the input or textarea `css`.
    pub async fn selection(&self, css: &str) -> (u64, u64) {
        let js = "const el = document.querySelector(arguments[0]);\
                  return el ? [el.selectionStart, el.selectionEnd] : null;";
        let seen = self.eval_with(js, vec![json!(css)]).await;
        match (seen[0].as_u64(), seen[1].as_u64()) {
            (Some(start), Some(end)) => (start, end),
            _ => panic!(
                "`{css}` has no selection to read: {seen}\n{}",
                self.describe().await
            ),
        }
    }

    /// Presses the keys of `text`, one after the other, in whatever has the
    /// focus (WebDriver key actions: what a keyboard does, with no clicking
    /// or focusing first).
    pub async fn press_keys(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".into());
        for key in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        if let Err(err) = self.client.perform_actions(keys).await {
            panic!("cannot press {text:?}: {err}\n{}", self.describe().await);
        }
    }

    /// Presses `key` with `modifiers` held (e.g. `&[Key::Control]`, `'z'`)
    /// in whatever has the focus, as a keyboard shortcut is pressed.
    pub async fn press_shortcut(&self, modifiers: &[Key], key: char) {
        let mut keys = KeyActions::new("keyboard".into());
        for modifier in modifiers {
            keys = keys.then(KeyAction::Down {
                value: (*modifier).into(),
            });
        }
        keys = keys
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        for modifier in modifiers.iter().rev() {
            keys = keys.then(KeyAction::Up {
                value: (*modifier).into(),
            });
        }
        if let Err(err) = self.client.perform_actions(keys).await {
            panic!(
                "cannot press {modifiers:?}+{key:?}: {err}\n{}",
                self.describe().await
            );
        }
    }

    /// Inserts `text` at the caret of the focused field in one go, as a
    /// paste or an input method's commit does (DevTools' `Input.insertText`:
    /// one `beforeinput` and one `input` event). During an IME composition
    /// it commits the composition as `text`.
    pub async fn insert_text(&self, text: &str) {
        self.cdp("Input.insertText", json!({ "text": text })).await;
    }

    /// Shows `text` as the current IME composition in the focused field
    /// (DevTools' `Input.imeSetComposition`), with the caret at its end: the
    /// first call starts a composition (`compositionstart`), later ones
    /// update it, and [`Page::insert_text`] commits it.
    pub async fn compose(&self, text: &str) {
        let end = text.encode_utf16().count();
        let params = json!({ "text": text, "selectionStart": end, "selectionEnd": end });
        self.cdp("Input.imeSetComposition", params).await;
    }

    /// From now on, in the pages this session loads next, records what
    /// the page shows and hears of its connection: every state of the
    /// `connection-state` badge ([`Page::connection_states`]) and every
    /// WebSocket close with its code and reason ([`Page::closes`]). Call it
    /// before [`Page::goto`].
    pub async fn record_connection(&self) {
        // The close events are read off the sockets themselves: a wrapper
        // around the `WebSocket` constructor that returns the browser's own
        // socket with one more listener, and changes nothing else.
        let source = "window.__tandemStates = [];\
            window.__tandemCloses = [];\
            const record = () => {\
              const badge = document.querySelector('[data-testid=\"connection-state\"]');\
              if (!badge) return;\
              const seen = badge.getAttribute('data-state') + ' ' + badge.textContent.trim();\
              const states = window.__tandemStates;\
              if (states[states.length - 1] !== seen) states.push(seen);\
            };\
            new MutationObserver(record).observe(document, {\
              subtree: true, childList: true, characterData: true, attributes: true\
            });\
            const Native = window.WebSocket;\
            window.WebSocket = function (...args) {\
              const socket = new Native(...args);\
              socket.addEventListener('close', (e) => window.__tandemCloses.push([e.code, e.reason]));\
              return socket;\
            };\
            window.WebSocket.prototype = Native.prototype;\
            for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) window.WebSocket[k] = Native[k];";
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": source }),
        )
        .await;
    }

    /// What the `connection-state` badge showed since the page loaded
    /// (`"{data-state} {text}"`, in order, without repeats), as
    /// [`Page::record_connection`] recorded it.
    pub async fn connection_states(&self) -> Vec<String> {
        let seen = self.recorded("__tandemStates").await;
        serde_json::from_value(seen.clone())
            .unwrap_or_else(|_| panic!("recorded states are strings: {seen}"))
    }

    /// The code and reason of every WebSocket close the page saw since it
    /// loaded, in order, as [`Page::record_connection`] recorded them.
    pub async fn closes(&self) -> Vec<(u16, String)> {
        let seen = self.recorded("__tandemCloses").await;
        serde_json::from_value(seen.clone())
            .unwrap_or_else(|_| panic!("recorded closes are [code, reason]: {seen}"))
    }

    /// The array `window.{name}` the recorder fills.
    async fn recorded(&self, name: &str) -> Value {
        let seen = self.eval(&format!("return window.{name} || null")).await;
        if seen.is_null() {
            panic!("nothing recorded in {name}: call record_connection before goto");
        }
        seen
    }

    /// Opens a new window of this browser (same profile: same storage,
    /// same person), switches to it and returns it; [`Page::switch_to`]
    /// goes back. Every verb acts on the current window.
    pub async fn open_window(&self) -> WindowHandle {
        let opened = match self.client.new_window(false).await {
            Ok(opened) => opened,
            Err(err) => panic!("cannot open a new window: {err}"),
        };
        self.switch_to(&opened.handle).await;
        opened.handle
    }

    /// The window the verbs act on now.
    pub async fn window(&self) -> WindowHandle {
        match self.client.window().await {
            Ok(handle) => handle,
            Err(err) => panic!("cannot read the current window: {err}"),
        }
    }

    /// Makes `window` the one the verbs act on.
    pub async fn switch_to(&self, window: &WindowHandle) {
        if let Err(err) = self.client.switch_to_window(window.clone()).await {
            panic!("cannot switch to window {window:?}: {err}");
        }
    }

    /// Clicks `css` once it is displayed.
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css, DEADLINE).await;
        if let Err(err) = element.click().await {
            panic!("cannot click `{css}`: {err}\n{}", self.describe().await);
        }
    }

    /// Runs `js` in the page as a function body and returns what it
    /// `return`s (`return document.title`).
    pub async fn eval(&self, js: &str) -> Value {
        match self.client.execute(js, Vec::new()).await {
            Ok(value) => value,
            Err(err) => panic!("script failed: {err}\nscript: {js}"),
        }
    }

    /// Runs `js` as [`Page::eval`] does, with `args` as `arguments[0…]`.
    pub async fn eval_with(&self, js: &str, args: Vec<Value>) -> Value {
        match self.client.execute(js, args).await {
            Ok(value) => value,
            Err(err) => panic!("script failed: {err}\nscript: {js}"),
        }
    }

    /// Sends the DevTools command `cmd` to this session's tab through
    /// chromedriver, and returns its result.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let command = ChromeCommand {
            path: "goog/cdp/execute",
            body: json!({"cmd": cmd, "params": params}).to_string(),
        };
        match self.client.issue_cmd(command).await {
            Ok(result) => result,
            Err(err) => panic!("the DevTools command {cmd} failed: {err}"),
        }
    }

    /// Takes this tab offline (or back online) as DevTools' network panel
    /// does: requests and sockets fail, `navigator.onLine` turns false and
    /// the page gets its `offline` (then `online`) event.
    pub async fn set_offline(&self, offline: bool) {
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({
                "offline": offline,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": -1,
            }),
        )
        .await;
        let online = self.eval("return navigator.onLine").await;
        assert_eq!(
            online,
            json!(!offline),
            "navigator.onLine after emulating offline={offline}"
        );
    }

    /// Moves the mouse pointer to `(x, y)` in the viewport (CSS pixels), as
    /// a person moving the mouse there does (`mousemove` on what is under it).
    pub async fn move_pointer_to(&self, x: f64, y: f64) {
        let actions = MouseActions::new("mouse".to_owned()).then(PointerAction::MoveTo {
            duration: None,
            x,
            y,
        });
        if let Err(err) = self.client.perform_actions(actions).await {
            panic!("cannot move the pointer to ({x}, {y}): {err}");
        }
    }

    /// Sizes the page's viewport to `width` × `height` CSS pixels (one
    /// device pixel each), as DevTools' device toolbar does.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
        let seen = self
            .eval("return document.documentElement.clientWidth")
            .await;
        assert!(
            seen.as_u64().is_some_and(|w| w <= u64::from(width)),
            "the viewport is {width} px wide after resizing, the page says {seen}"
        );
    }

    /// Makes the page see `prefers-color-scheme: dark` (or light).
    /// Keeps `prefers-reduced-motion` as it was.
    pub async fn set_dark_mode(&self, dark: bool) {
        let reduced = self
            .eval("return matchMedia('(prefers-reduced-motion: reduce)').matches")
            .await;
        self.emulate_media(dark, reduced == json!(true)).await;
    }

    /// Makes the page see `prefers-reduced-motion: reduce` (or no
    /// preference), keeping its colour scheme.
    pub async fn set_reduced_motion(&self, reduce: bool) {
        let dark = self
            .eval("return matchMedia('(prefers-color-scheme: dark)').matches")
            .await;
        self.emulate_media(dark == json!(true), reduce).await;
    }

    async fn emulate_media(&self, dark: bool, reduce_motion: bool) {
        let scheme = if dark { "dark" } else { "light" };
        let motion = if reduce_motion {
            "reduce"
        } else {
            "no-preference"
        };
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [
                {"name": "prefers-color-scheme", "value": scheme},
                {"name": "prefers-reduced-motion", "value": motion},
            ]}),
        )
        .await;
    }

    /// The offline copy of `room` this browser keeps in IndexedDB, decoded.
    pub async fn stored_copy(&self, room: &str) -> StoredCopy {
        let read = self
            .client
            .execute_async(stored_copy::READ, vec![json!(room)])
            .await;
        match read
            .map_err(|e| e.to_string())
            .and_then(|v| StoredCopy::decode(&v))
        {
            Ok(copy) => copy,
            Err(err) => panic!("cannot read the offline copy of {room}: {err}"),
        }
    }

    /// Every WebSocket event of this session so far (sockets created,
    /// handshakes, frames, closes), in order.
    pub async fn ws_events(&self) -> Vec<WsEvent> {
        let log = ChromeCommand {
            path: "se/log",
            body: r#"{"type":"performance"}"#.to_owned(),
        };
        let entries = match self.client.issue_cmd(log).await {
            Ok(entries) => entries,
            Err(err) => panic!("cannot read the performance log: {err}"),
        };
        let new = frames::parse_log(&entries);
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.extend(new);
        events.clone()
    }

    /// Every WebSocket data frame of this session so far, as DevTools'
    /// Messages tab lists them.
    pub async fn frames(&self) -> Vec<Frame> {
        self.ws_events()
            .await
            .into_iter()
            .filter_map(|event| match event {
                WsEvent::Frame(frame) => Some(frame),
                _ => None,
            })
            .collect()
    }

    /// Waits until a WebSocket event satisfies `pred` (described by `what`)
    /// and returns it.
    pub async fn wait_for_ws_event(
        &self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&WsEvent) -> bool,
    ) -> WsEvent {
        let found = try_poll(deadline, async || {
            let events = self.ws_events().await;
            events
                .iter()
                .find(|e| pred(e))
                .cloned()
                .ok_or_else(|| summarize(&events))
        })
        .await;
        match found {
            Ok(event) => event,
            Err(seen) => panic!("waited {deadline:?} for {what}; WebSocket events seen: {seen}"),
        }
    }

    /// Waits until a frame satisfies `pred` (described by `what`) and returns it.
    pub async fn wait_for_frame(
        &self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&Frame) -> bool,
    ) -> Frame {
        let event = self
            .wait_for_ws_event(
                what,
                deadline,
                |e| matches!(e, WsEvent::Frame(f) if pred(f)),
            )
            .await;
        match event {
            WsEvent::Frame(frame) => frame,
            other => unreachable!("the predicate only accepts frames, got {other:?}"),
        }
    }

    /// Saves a screenshot (`<stem>.png`) and the HTML (`<stem>.html`) into
    /// `dir`; returns what it wrote, and says why on stderr when it cannot.
    pub async fn save_artifacts(&self, dir: &Path, stem: &str) -> Vec<PathBuf> {
        let mut written = Vec::new();
        let png = dir.join(format!("{stem}.png"));
        match self.client.screenshot().await {
            Ok(bytes) => match std::fs::write(&png, bytes) {
                Ok(()) => written.push(png),
                Err(err) => eprintln!("cannot write {}: {err}", png.display()),
            },
            Err(err) => eprintln!("cannot take a screenshot: {err}"),
        }
        let html = dir.join(format!("{stem}.html"));
        match self.client.source().await {
            Ok(source) => match std::fs::write(&html, source) {
                Ok(()) => written.push(html),
                Err(err) => eprintln!("cannot write {}: {err}", html.display()),
            },
            Err(err) => eprintln!("cannot read the page's HTML: {err}"),
        }
        written
    }

    /// Ends the session (Chromium exits) and removes its profile.
    pub async fn close(&self) {
        // Already closed (by an earlier call) is fine: the goal is "not running".
        let _ = self.client.clone().close().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }

    async fn find(&self, css: &str) -> Result<Element, String> {
        self.client
            .find(Locator::Css(css))
            .await
            .map_err(|err| match err {
                err if err.is_no_such_element() => "no element matches".to_owned(),
                err => err.to_string(),
            })
    }

    /// The URL and the start of the visible text, for failure messages.
    async fn describe(&self) -> String {
        let url = self
            .client
            .current_url()
            .await
            .map_or_else(|e| format!("(unknown: {e})"), |u| u.to_string());
        let text = self
            .client
            .execute(
                "return document.body ? document.body.innerText : ''",
                Vec::new(),
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let text: String = text.chars().take(600).collect();
        format!("page: {url}\nvisible text: {text:?}")
    }
}

/// One line per WebSocket event, for failure messages.
fn summarize(events: &[WsEvent]) -> String {
    if events.is_empty() {
        return "none".into();
    }
    let lines: Vec<String> = events
        .iter()
        .map(|event| match event {
            WsEvent::Frame(f) => {
                let payload: String = f.payload.chars().take(120).collect();
                format!("{:?} opcode {} {payload}", f.direction, f.opcode)
            }
            WsEvent::Created { url, .. } => format!("created {url}"),
            WsEvent::HandshakeRequest { .. } => "handshake request".into(),
            WsEvent::HandshakeResponse { status, .. } => format!("handshake response {status}"),
            WsEvent::Closed { .. } => "closed".into(),
        })
        .collect();
    format!("\n  {}", lines.join("\n  "))
}

/// One of chromedriver's own commands, `POST /session/{id}/{path}` with a
/// JSON body: `goog/cdp/execute {"cmd", "params"}` runs a DevTools protocol
/// command in the session's tab; `se/log {"type": "performance"}` returns the
/// DevTools events logged since the last call.
#[derive(Debug)]
struct ChromeCommand {
    path: &'static str,
    body: String,
}

impl WebDriverCompatibleCommand for ChromeCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.clone()))
    }
}
