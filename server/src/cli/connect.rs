//! `tandem connect URL`: a document in the terminal, for people who read
//! frames there rather than in DevTools.
//!
//! It is one more host around the shared [`ClientSession`] (as the page,
//! the test client and the load generator are): it says `hello` with the
//! link's key, syncs through the state vectors, applies what the room
//! relays, and counts `saved` exactly as the page does. What it adds:
//!
//! - **follow** (the default): prints the body once synced, then each
//!   change others make, as a line (`insert 'x' at 5`), until Ctrl-C;
//!   reconnects as the page does (the close table says whether; backoff
//!   1 s doubling to 30 s with full jitter, or the server's `retry after`).
//! - **`--frames`**: every frame both ways, decoded as the page's frame
//!   inspector decodes it (`tandem_shared::describe`): time, direction,
//!   size, kind and a summary; for updates, what they changed in the text;
//!   for closes, the code's name.
//! - **`--append TEXT`**, **`--put FILE`**: one edit, then exit once the
//!   server has acknowledged it (`saved`). A put is the smallest splice
//!   (`tandem_shared::splice`) from the synced body to the file's text,
//!   so what others type meanwhile outside the changed run survives it.
//!
//! Status lines (connected, closed, reconnecting) go to stderr; the
//! document, changes and frames to stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use clap::Args;
use futures_util::{SinkExt as _, StreamExt as _};
use tandem_shared::close::{self, CloseCode};
use tandem_shared::describe::{self, Classified, TextChange};
use tandem_shared::doc::{Field, new_doc};
use tandem_shared::session::{Event, Outgoing, SaveState};
use tandem_shared::splice::splice;
use tandem_shared::{ClientSession, Presence, RoomId, SyncFrame};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WireCloseCode;
use yrs::{Doc, GetString as _, Observable as _, Text as _, TextRef, Transact as _};

use super::socket::{self, Socket};

/// `tandem connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The document: its page's address as the Share button gives it
    /// (`http://host:port/d/{room}#key=e.…`), or its socket
    /// (`ws://host:port/ws/{room}`, with --key)
    pub url: String,
    /// The share key, when the URL carries none (it goes in the hello, never in a URL)
    #[arg(long, env = "TANDEM_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Print every frame, both ways, decoded as the page's frame inspector shows it
    #[arg(long)]
    pub frames: bool,
    /// Append TEXT to the body, wait until the server has saved it, and exit
    #[arg(long, value_name = "TEXT", conflicts_with = "put")]
    pub append: Option<String>,
    /// Make the body FILE's text (`-`: standard input) by the smallest
    /// splice, wait until the server has saved it, and exit
    #[arg(long, value_name = "FILE")]
    pub put: Option<PathBuf>,
    /// Show others this name (a presence), as the page's name does
    #[arg(long)]
    pub name: Option<String>,
}

/// Where a terminal client connects, read from what a person pastes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `ws://host:port/ws/{room}`.
    pub socket: String,
    /// The room.
    pub room: RoomId,
    /// The share key its hellos present.
    pub key: Option<String>,
}

impl Target {
    /// A page URL (`http://…/d/{room}#key=…`) or a socket URL
    /// (`ws://…/ws/{room}`); `key` (from `--key`) wins over the page's.
    pub fn parse(url: &str, key: Option<&str>) -> anyhow::Result<Self> {
        let (address, fragment) = url.split_once('#').unwrap_or((url, ""));
        let fragment_key = fragment
            .split('&')
            .find_map(|pair| pair.strip_prefix("key="))
            .filter(|k| !k.is_empty());
        let uri: axum::http::Uri = address
            .parse()
            .with_context(|| format!("{url:?} is not a URL"))?;
        let (socket_scheme, prefix) = match uri.scheme_str() {
            Some("http") => ("ws", "/d/"),
            Some("ws") => ("ws", "/ws/"),
            Some("https" | "wss") => anyhow::bail!(
                "{address}: TLS is not supported by tandem's own client; connect to the node's \
                 plain address (on its machine, e.g. http://127.0.0.1:8080/d/ROOM)"
            ),
            _ => anyhow::bail!(
                "{url}: expected a page (http://host:port/d/ROOM#key=…) or a socket (ws://host:port/ws/ROOM)"
            ),
        };
        if uri
            .query()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("key=")))
        {
            anyhow::bail!(
                "{address}: a share key goes in --key (or the page's #key=), never in the URL's query, which servers log"
            );
        }
        let authority = uri.authority().with_context(|| format!("{url}: no host"))?;
        let name = uri
            .path()
            .strip_prefix(prefix)
            .with_context(|| format!("{url}: expected the path {prefix}ROOM"))?;
        let room = RoomId::new(name.trim_end_matches('/'))
            .with_context(|| format!("{url}: not a room name"))?;
        Ok(Self {
            socket: format!("{socket_scheme}://{authority}{}", room.ws_path()),
            room,
            key: key.or(fragment_key).map(str::to_owned),
        })
    }
}

/// What a connection is for.
#[derive(Debug, Clone)]
enum Mode {
    /// Print the document and its changes until interrupted.
    Follow,
    /// Append to the body, then exit once saved.
    Append(String),
    /// Make the body (and the title, when given) this text, then exit once saved.
    Put {
        /// The new title, if it changes.
        title: Option<String>,
        /// The new body.
        body: String,
    },
}

impl Mode {
    fn edits(&self) -> bool {
        !matches!(self, Self::Follow)
    }
}

/// How long an edit may take to be acknowledged, reconnections included.
const EDIT_DEADLINE: Duration = Duration::from_secs(120);
/// Failed connections in a row after which an edit gives up.
const EDIT_ATTEMPTS: u32 = 5;
/// The cap of the reconnect backoff, as the page's.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Runs `tandem connect`.
pub(super) async fn run(args: ConnectArgs) -> anyhow::Result<ExitCode> {
    let target = Target::parse(&args.url, args.key.as_deref())?;
    let mode = match (args.append, &args.put) {
        (Some(text), _) => Mode::Append(text),
        (None, Some(path)) => Mode::Put {
            title: None,
            body: read_text(path)?,
        },
        (None, None) => Mode::Follow,
    };
    let presence = match args.name {
        Some(name) => {
            let presence = Presence {
                name,
                color: "#7f8c8d".to_owned(),
                cursor: None,
            };
            presence
                .validate()
                .map_err(|why| anyhow::anyhow!("--name: {why}"))?;
            Some(presence)
        }
        None => None,
    };
    let mut host = Host::new(&target, args.frames, presence);
    host.run(&target, &mode).await
}

/// Writes `title` and `body` into the room at `target` as one edit and
/// waits until the server saved it (`tandem rooms import`).
pub(super) async fn put(target: &Target, title: String, body: String) -> anyhow::Result<()> {
    let mut host = Host::new(target, false, None);
    host.quiet = true;
    let mode = Mode::Put {
        title: Some(title),
        body,
    };
    host.run(target, &mode).await.map(drop)
}

/// The text of `path`, or of standard input for `-`.
fn read_text(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("cannot read standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// How one connection ended.
#[derive(Debug)]
enum End {
    /// The edit is saved, or the person pressed Ctrl-C.
    Finished,
    /// The server closed with this code and reason.
    Closed(u16, String),
    /// The stream ended or failed without a close.
    Dropped(String),
}

/// The session and what the terminal shows of it.
struct Host {
    /// The protocol, around the replica.
    session: ClientSession<Doc>,
    /// The body.
    content: TextRef,
    /// The title.
    title: TextRef,
    /// What the last transactions changed, filled by the texts' observers
    /// and taken after each one to describe it.
    changes: Arc<Mutex<Vec<TextChange>>>,
    /// Print every frame.
    frames: bool,
    /// Print nothing but errors (an import).
    quiet: bool,
    /// Shown to others once welcomed.
    presence: Option<Presence>,
    /// The edit is in the replica (made once, on the first sync; a
    /// reconnection's step 2 carries it if it was not acknowledged).
    edited: bool,
    /// The body was printed (once, on the first sync).
    printed: bool,
}

impl Host {
    fn new(target: &Target, frames: bool, presence: Option<Presence>) -> Self {
        let doc = new_doc();
        let content = doc.get_or_insert_text(Field::Content.name());
        let title = doc.get_or_insert_text(Field::Title.name());
        let changes = Arc::new(Mutex::new(Vec::new()));
        for (field, text) in [(Field::Content, &content), (Field::Title, &title)] {
            let sink = changes.clone();
            text.observe("tandem-connect", move |txn, event| {
                let made = describe::from_delta(field, event.delta(txn));
                // A std mutex: filled and drained by this task only, in
                // short sections with no await.
                sink.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend(made);
            });
        }
        Self {
            session: ClientSession::new(doc, false).with_key(target.key.clone()),
            content,
            title,
            changes,
            frames,
            quiet: false,
            presence,
            edited: false,
            printed: false,
        }
    }

    /// Connections until the mode is done, reconnecting as the close
    /// table and the backoff say.
    async fn run(&mut self, target: &Target, mode: &Mode) -> anyhow::Result<ExitCode> {
        let started = tokio::time::Instant::now();
        let mut failures = 0u32;
        loop {
            let end = tokio::select! {
                end = self.connection(target, mode) => end,
                () = interrupted() => return Ok(ExitCode::SUCCESS),
                () = tokio::time::sleep_until(started + EDIT_DEADLINE), if mode.edits() => {
                    anyhow::bail!("the server did not acknowledge the edit within {EDIT_DEADLINE:?}")
                }
            };
            self.session.closed();
            let wait = match end {
                Ok(End::Finished) => return Ok(ExitCode::SUCCESS),
                Ok(End::Closed(code, reason)) => {
                    let said = describe::classify_close(code, &reason).summary;
                    if !close::should_reconnect(code) {
                        if code == CloseCode::Normal.number() && !mode.edits() {
                            self.status(&format!("the server closed the connection: {said}"));
                            return Ok(ExitCode::SUCCESS);
                        }
                        anyhow::bail!("the server closed the connection: {said}");
                    }
                    failures = 0;
                    self.status(&format!("the server closed the connection: {said}"));
                    close::retry_after(&reason).map(|s| Duration::from_secs(u64::from(s)))
                }
                Ok(End::Dropped(why)) => {
                    failures += 1;
                    self.status(&format!("the connection dropped: {why}"));
                    None
                }
                Err(err) => {
                    failures += 1;
                    if mode.edits() && failures >= EDIT_ATTEMPTS {
                        return Err(err);
                    }
                    self.status(&format!("{err:#}"));
                    None
                }
            };
            let wait = wait.unwrap_or_else(|| backoff(failures.max(1)));
            self.status(&format!("reconnecting in {} s", wait.as_secs_f32().ceil()));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = interrupted() => return Ok(ExitCode::SUCCESS),
            }
        }
    }

    /// One connection: hello, sync, then frames until the mode is done or
    /// the connection ends.
    async fn connection(&mut self, target: &Target, mode: &Mode) -> anyhow::Result<End> {
        let mut socket = socket::open(&target.socket).await?;
        let hello = self.session.open();
        self.send(&mut socket, &hello, None).await?;
        let step1 = self.session.step1();
        self.send(&mut socket, &step1, None).await?;
        loop {
            let Some(message) = socket.next().await else {
                return Ok(End::Dropped("the stream ended without a close".into()));
            };
            let message = match message {
                Ok(message) => message,
                Err(err) => return Ok(End::Dropped(err.to_string())),
            };
            match message {
                Message::Text(text) => {
                    if self.frames {
                        self.frame("↓", "text", text.len(), describe::classify_text(&text));
                    }
                    let reaction = self
                        .session
                        .receive_text(&text)
                        .map_err(|err| anyhow::anyhow!("the server sent {text}: {err}"))?;
                    match reaction.event {
                        Event::Welcomed => {
                            self.welcomed(target, mode)?;
                            if let Some(presence) = self.presence.clone() {
                                let frame = self.session.presence(presence);
                                self.send(&mut socket, &frame, None).await?;
                            }
                        }
                        Event::Saved { .. }
                            if self.edited && self.session.save_state() == SaveState::Saved =>
                        {
                            return self.finish(&mut socket, "saved").await;
                        }
                        Event::Refused { code, reason } => {
                            self.status(&format!(
                                "the server refused a message ({code:?}): {reason}"
                            ));
                        }
                        _ => {}
                    }
                }
                Message::Binary(bytes) => {
                    let frame = match SyncFrame::decode(&bytes) {
                        Ok(frame) => frame,
                        Err(err) => {
                            if self.frames {
                                self.frame(
                                    "↓",
                                    "binary",
                                    bytes.len(),
                                    describe::classify_bad_binary(&err),
                                );
                            }
                            anyhow::bail!(
                                "the server sent a binary frame that is not y-sync: {err}"
                            );
                        }
                    };
                    self.take_changes();
                    let reaction = self
                        .session
                        .receive_sync(frame.clone())
                        .map_err(|err| anyhow::anyhow!("{err}"))?;
                    let changes = self.take_changes();
                    if self.frames {
                        let said = (!matches!(frame, SyncFrame::Step1(_)))
                            .then(|| describe::describe(&changes));
                        self.frame(
                            "↓",
                            "binary",
                            bytes.len(),
                            describe::classify_sync(&frame, said),
                        );
                    }
                    if let Some(reply) = &reaction.reply {
                        self.send(&mut socket, reply, None).await?;
                    }
                    if let Event::Applied { first_sync, .. } = reaction.event {
                        if !mode.edits() {
                            self.show_changes(first_sync, &changes);
                        }
                        if first_sync
                            && mode.edits()
                            && !self.edited
                            && let Some(done) = self.edit(&mut socket, mode).await?
                        {
                            return self.finish(&mut socket, done).await;
                        }
                    }
                }
                Message::Close(frame) => {
                    let (code, reason) = match &frame {
                        Some(frame) => (u16::from(frame.code), frame.reason.to_string()),
                        None => (CloseCode::NoStatus.number(), String::new()),
                    };
                    if self.frames {
                        self.frame(
                            "↓",
                            "close",
                            2 + reason.len(),
                            describe::classify_close(code, &reason),
                        );
                    }
                    // Let tungstenite answer the close and the stream end.
                    while let Ok(Some(_)) =
                        tokio::time::timeout(Duration::from_secs(2), socket.next()).await
                    {
                    }
                    return Ok(End::Closed(code, reason));
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// After the welcome: say who we are, and refuse to edit through a
    /// view-only link (the server would close us with 1008).
    fn welcomed(&self, target: &Target, mode: &Mode) -> anyhow::Result<()> {
        let read_only = self.session.read_only();
        if read_only && mode.edits() {
            anyhow::bail!(
                "this link is view-only: the server refuses its edits (use the edit link, `#key=e.…`)"
            );
        }
        let id = self.session.client_id().map_or(0, |c| c.0);
        let rights = if read_only { "read-only" } else { "editing" };
        self.status(&format!(
            "connected to {} as client {id} ({rights})",
            target.room
        ));
        Ok(())
    }

    /// Makes the mode's edit in the replica and sends it; `Some(why)` when
    /// there is nothing to wait for (the text already was the file's).
    async fn edit(
        &mut self,
        socket: &mut Socket,
        mode: &Mode,
    ) -> anyhow::Result<Option<&'static str>> {
        self.edited = true;
        let doc = self.session.replica().clone();
        let update = {
            let mut txn = doc.transact_mut();
            let mut changed = false;
            match mode {
                Mode::Follow => return Ok(None),
                Mode::Append(text) => {
                    let end = self.content.len(&txn);
                    self.content.insert(&mut txn, end, text);
                    changed = !text.is_empty();
                }
                Mode::Put { title, body } => {
                    changed |= splice_text(&mut txn, &self.content, body)?;
                    if let Some(title) = title {
                        changed |= splice_text(&mut txn, &self.title, title)?;
                    }
                }
            }
            if !changed {
                drop(txn);
                self.take_changes();
                return Ok(Some("nothing to change"));
            }
            txn.encode_update_v1()
        };
        let changes = self.take_changes();
        if let Some(frame) = self.session.local_update(update) {
            self.send(socket, &frame, Some(describe::describe(&changes)))
                .await?;
        }
        Ok(None)
    }

    /// Ends the connection with a normal close after the edit.
    async fn finish(&mut self, socket: &mut Socket, done: &str) -> anyhow::Result<End> {
        self.status(&format!("{done}; closing"));
        let reason = "done";
        if self.frames {
            self.frame(
                "↑",
                "close",
                2 + reason.len(),
                describe::classify_close(CloseCode::Normal.number(), reason),
            );
        }
        let close = CloseFrame {
            code: WireCloseCode::Normal,
            reason: reason.into(),
        };
        // Best effort: the edit is saved whatever happens to the close.
        if socket.close(Some(close)).await.is_ok() {
            while let Ok(Some(Ok(_))) =
                tokio::time::timeout(Duration::from_secs(2), socket.next()).await
            {}
        }
        Ok(End::Finished)
    }

    /// Sends a frame of the session; with `--frames`, prints it first.
    async fn send(
        &self,
        socket: &mut Socket,
        frame: &Outgoing,
        changes: Option<String>,
    ) -> anyhow::Result<()> {
        let message = socket::message(frame);
        if self.frames {
            let (format, classified) = match frame {
                Outgoing::Control(msg) => ("text", describe::classify_text(&msg.to_json())),
                Outgoing::Sync(sync) => ("binary", describe::classify_sync(sync, changes)),
            };
            self.frame("↑", format, message.len(), classified);
        }
        socket
            .send(message)
            .await
            .context("the connection failed while sending")
    }

    /// What the observers collected since the last call.
    fn take_changes(&self) -> Vec<TextChange> {
        std::mem::take(
            &mut *self
                .changes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Following: the body on the first sync, then each change as a line.
    fn show_changes(&mut self, first_sync: bool, changes: &[TextChange]) {
        if self.frames || self.quiet {
            return;
        }
        if first_sync && !self.printed {
            self.printed = true;
            let txn = self.session.replica().transact();
            let title = self.title.get_string(&txn);
            let body = self.content.get_string(&txn);
            drop(txn);
            if !title.is_empty() {
                self.status(&format!("title: {title}"));
            }
            println!("{body}");
            self.status("following; each change is a line below (Ctrl-C to stop)");
            return;
        }
        for change in changes {
            println!("{change}");
        }
    }

    /// One line of `--frames`.
    fn frame(&self, arrow: &str, format: &str, bytes: usize, classified: Classified) {
        let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let clock = time.get(11..23).unwrap_or(&time);
        println!(
            "{clock} {arrow} {format:<6} {:>8}  {:<11} {}",
            describe::size(bytes as u64),
            classified.kind,
            classified.summary
        );
    }

    /// A status line on stderr, unless quiet.
    fn status(&self, line: &str) {
        if !self.quiet {
            eprintln!("-- {line}");
        }
    }
}

/// Makes `text` read `new` through the smallest splice; whether it changed.
fn splice_text(txn: &mut yrs::TransactionMut, text: &TextRef, new: &str) -> anyhow::Result<bool> {
    let old: Vec<u16> = text.get_string(txn).encode_utf16().collect();
    let new: Vec<u16> = new.encode_utf16().collect();
    let change = splice(&old, &new, None);
    if change.is_empty() {
        return Ok(false);
    }
    let inserted = String::from_utf16(&new[change.insert.clone()])
        .context("the splice cut a character in two")?;
    if change.delete > 0 {
        text.remove_range(txn, change.index as u32, change.delete as u32);
    }
    if !inserted.is_empty() {
        text.insert(txn, change.index as u32, &inserted);
    }
    Ok(true)
}

/// The wait before reconnection attempt `attempt` (1, 2, …): full jitter
/// over 1 s doubling up to 30 s, the page's schedule.
fn backoff(attempt: u32) -> Duration {
    let cap = Duration::from_secs(1u64 << attempt.saturating_sub(1).min(5)).min(MAX_BACKOFF);
    cap.mul_f64(fastrand::f64().max(0.05))
}

/// Resolves on Ctrl-C (never, if the signal cannot be watched).
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_sockets_name_the_room_and_the_key() {
        let page = Target::parse("http://127.0.0.1:8080/d/team-notes#key=e.abc", None)
            .expect("a page URL");
        assert_eq!(
            page,
            Target {
                socket: "ws://127.0.0.1:8080/ws/team-notes".into(),
                room: RoomId::new("team-notes").expect("room"),
                key: Some("e.abc".into()),
            }
        );
        let socket = Target::parse("ws://docs.internal:9000/ws/r1", Some("v.xyz")).expect("socket");
        assert_eq!(socket.socket, "ws://docs.internal:9000/ws/r1");
        assert_eq!(socket.key.as_deref(), Some("v.xyz"));
        let open = Target::parse("http://h:1/d/open-room", None).expect("no key");
        assert_eq!(open.key, None);
        let wins = Target::parse("http://h:1/d/r#key=e.page", Some("e.flag")).expect("both");
        assert_eq!(wins.key.as_deref(), Some("e.flag"));
    }

    #[test]
    fn what_cannot_work_is_refused_with_the_reason() {
        for (url, says) in [
            ("https://docs.example/d/r#key=e.x", "TLS"),
            ("wss://docs.example/ws/r", "TLS"),
            ("ws://h:1/ws/r?key=e.x", "--key"),
            ("http://h:1/x/r", "/d/ROOM"),
            ("ws://h:1/d/r", "/ws/ROOM"),
            ("http://h:1/d/not%20a%20room", "room"),
            ("ftp://h/d/r", "expected"),
        ] {
            let err = Target::parse(url, None).expect_err(url).to_string();
            assert!(err.contains(says), "{url}: {err}");
        }
    }

    #[test]
    fn a_put_is_the_smallest_splice() {
        let old = format!("{}two{}", "one ".repeat(50), " three".repeat(50));
        let new = old.replace("two", "2");
        let put = |how: &dyn Fn(&mut yrs::TransactionMut, &TextRef)| {
            let doc = new_doc();
            let text = doc.get_or_insert_text(Field::Content.name());
            text.insert(&mut doc.transact_mut(), 0, &old);
            let mut txn = doc.transact_mut();
            how(&mut txn, &text);
            let update = txn.encode_update_v1();
            drop(txn);
            assert_eq!(text.get_string(&doc.transact()), new);
            update.len()
        };
        let spliced = put(&|txn, text| {
            assert!(splice_text(txn, text, &new).expect("splice"));
            assert!(!splice_text(txn, text, &new).expect("no change left"));
        });
        let replaced = put(&|txn, text| {
            let len = text.len(txn);
            text.remove_range(txn, 0, len);
            text.insert(txn, 0, &new);
        });
        assert!(
            spliced * 5 < replaced,
            "the splice's update ({spliced} B) carries only the change, a replacement ({replaced} B) the text"
        );
    }

    #[test]
    fn the_backoff_doubles_to_thirty_seconds() {
        for attempt in 1..20 {
            let wait = backoff(attempt);
            let cap = Duration::from_secs(1 << (attempt - 1).min(5)).min(MAX_BACKOFF);
            assert!(wait <= cap, "{attempt}: {wait:?}");
        }
    }
}
