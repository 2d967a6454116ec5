//! The crash soak: native clients type into several rooms while the real
//! server is killed with SIGKILL at random moments and restarted on the
//! same data directory, cycle after cycle. A few cycles run with the other
//! tests; `cargo xtask soak [--cycles N]` runs many against a release build
//! and prints the figures (through `TANDEM_SOAK_CYCLES`, `_ROOMS`,
//! `_CLIENTS`, `_KILL_WITHIN_MS` and `_SEED`). `crash.rs` is its
//! deterministic sibling: one room, a kill at a chosen count of edits.
//!
//! Every client (a "typist") keeps one replica and one [`ClientSession`]
//! for the whole run, as a browser tab does across reconnects: edits it made
//! while the server was down, or that were never acknowledged, travel again
//! in its next step 2. Each edit is a unique tag (`«typist.seq»`) inserted
//! at the start or the end of the text, so it stays in one piece.
//!
//! What counts as acknowledged: `saved = n` says the first `n` frames of the
//! connection are durable, and the server acknowledges a frame only once
//! everything it applied before that frame is committed. So an acknowledged
//! update frame makes its tag durable, and an acknowledged step 2 makes
//! every tag the replica held when it was sent durable (the server had the
//! rest already). After every restart, before any typist reconnects (they
//! would resend what the crash lost, hiding it), a fresh reader checks each
//! room: every acknowledged tag must be there, once. At the end every typist
//! reconnects until all it has is saved; then every replica must equal the
//! server's document and every tag ever typed must be in it, once.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use support::process::TandemProcess;
use tandem_shared::session::{Event, Outgoing};
use tandem_shared::{ClientSession, SyncFrame};
use tandem_testkit::socket::{self, message};
use tandem_testkit::{Client, DEADLINE, TempDir, edit};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use yrs::{Doc, GetString, TextRef, Transact};

/// Compaction often, so kills land in it too; the typists' traffic is
/// deliberate, so no rate limit may cut them.
const FLAGS: &[&str] = &[
    "--compact-updates",
    "500",
    "--rate-limit",
    "1000000",
    "--rate-burst",
    "1000000",
];

/// A typed edit: which typist, which of its edits.
type Tag = (u32, u32);

/// What a soak does: `TANDEM_SOAK_*` or a few cycles.
struct Spec {
    /// Kill-and-restart cycles.
    cycles: u32,
    /// Rooms the typists share.
    rooms: usize,
    /// Typists, spread over the rooms.
    typists: usize,
    /// The kill comes at a random moment within this long after the
    /// typists start connecting.
    kill_within: Duration,
    /// Seed of every random choice (kill moments, edits, pauses).
    seed: u64,
}

impl Spec {
    fn from_env() -> Self {
        let var = |name: &str, default: u64| match std::env::var(format!("TANDEM_SOAK_{name}")) {
            Ok(value) => value
                .parse()
                .unwrap_or_else(|_| panic!("TANDEM_SOAK_{name}={value} is not a number")),
            Err(_) => default,
        };
        Self {
            cycles: var("CYCLES", 5) as u32,
            rooms: var("ROOMS", 4).max(1) as usize,
            typists: var("CLIENTS", 16).max(1) as usize,
            kill_within: Duration::from_millis(var("KILL_WITHIN_MS", 400).max(1)),
            seed: var("SEED", 1),
        }
    }
}

/// One native client, kept across connections.
struct Typist {
    /// Its number in tags.
    index: u32,
    /// The room it types into.
    room: String,
    /// Replica and connection state.
    session: ClientSession<Doc>,
    /// The body in the replica.
    text: TextRef,
    /// Tags typed so far: `0..typed`.
    typed: u32,
    /// Tags known durable: `0..durable`.
    durable: u32,
    /// Its own random choices.
    rng: fastrand::Rng,
}

impl Typist {
    fn new(index: u32, room: String, seed: u64) -> Self {
        let replica = tandem_shared::doc::new_doc();
        let text = replica.get_or_insert_text(tandem_shared::doc::CONTENT);
        Self {
            index,
            room,
            session: ClientSession::new(replica, false),
            text,
            typed: 0,
            durable: 0,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Types the next tag into the replica (at the start or the end) and
    /// returns the frame to send, if the connection is live.
    fn type_one(&mut self) -> Option<Outgoing> {
        let tag = format!("«{}.{}»", self.index, self.typed);
        self.typed += 1;
        let doc = self.session.replica();
        let update = if self.rng.bool() {
            edit::append(doc, &self.text, &tag)
        } else {
            edit::insert(doc, &self.text, 0, &tag)
        };
        self.session.local_update(update)
    }

    fn content(&self) -> String {
        self.text.get_string(&self.session.replica().transact())
    }
}

/// How a typist's connection should behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Type until the connection dies (the server is killed).
    Type,
    /// Type nothing; leave once everything sent is acknowledged.
    Settle,
}

/// One connection of `typist` to `server`: handshake, then type (or
/// settle) until the connection ends. Never fails: a dead server just ends
/// the connection.
async fn connection(mut typist: Typist, server: String, mode: Mode) -> Typist {
    let url = tandem_shared::RoomId::new(&typist.room)
        .expect("a room name")
        .ws_url(&server);
    let Ok(socket) = socket::open(&url).await else {
        return typist;
    };
    let (mut sink, mut stream) = socket.split();
    let hello = typist.session.open();
    // For frame n (from 1) of this connection: tags below `covers[n - 1]`
    // are durable once it is acknowledged.
    let mut covers: Vec<u32> = Vec::new();
    let mut alive = sink.send(message(&hello)).await.is_ok()
        && sink.send(message(&typist.session.step1())).await.is_ok();
    let mut next_edit = tokio::time::Instant::now();
    while alive {
        let session = &typist.session;
        if mode == Mode::Settle && session.synced() && session.live() && session.all_saved() {
            let _ = sink.close().await;
            break;
        }
        let typing = mode == Mode::Type && typist.session.live();
        let incoming = tokio::select! {
            next = stream.next() => next,
            () = tokio::time::sleep_until(next_edit), if typing => {
                if let Some(frame) = typist.type_one() {
                    covers.push(typist.typed);
                    alive = sink.send(message(&frame)).await.is_ok();
                }
                next_edit = tokio::time::Instant::now()
                    + Duration::from_millis(typist.rng.u64(2..20));
                continue;
            }
        };
        let reaction = match incoming {
            Some(Ok(Message::Text(text))) => typist.session.receive_text(&text).ok(),
            Some(Ok(Message::Binary(bytes))) => typist.session.receive_binary(&bytes).ok(),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            Some(Ok(_)) => continue,
        };
        let Some(reaction) = reaction else {
            // The session refused a frame: this connection cannot be trusted.
            break;
        };
        if let Event::Saved { .. } = reaction.event
            && let Some(frame) = typist.session.saved().checked_sub(1)
            && let Some(&durable) = covers.get(frame as usize)
        {
            typist.durable = typist.durable.max(durable);
        }
        if let Some(reply) = reaction.reply {
            if let Outgoing::Sync(SyncFrame::Step2(_)) = &reply {
                covers.push(typist.typed);
            }
            alive = sink.send(message(&reply)).await.is_ok();
        }
    }
    typist.session.closed();
    if mode == Mode::Type {
        // A person keeps typing while the page says "offline".
        for _ in 0..typist.rng.u32(0..3) {
            let _ = typist.type_one();
        }
    }
    typist
}

/// Runs one connection of every typist, all at once.
async fn connect_all(typists: Vec<Typist>, server: &TandemProcess, mode: Mode) -> JoinSet<Typist> {
    let base = format!("ws://{}", server.addr);
    let mut set = JoinSet::new();
    for typist in typists {
        set.spawn(connection(typist, base.clone(), mode));
    }
    set
}

/// Waits for every connection of `set` to end, within the deadline.
async fn join_all(mut set: JoinSet<Typist>, what: &str) -> Vec<Typist> {
    let joined = tokio::time::timeout(DEADLINE, async {
        let mut typists = Vec::new();
        while let Some(joined) = set.join_next().await {
            typists.push(joined.expect("a typist task"));
        }
        typists
    });
    let mut typists = joined
        .await
        .unwrap_or_else(|_| panic!("{what} within {DEADLINE:?}"));
    typists.sort_by_key(|t| t.index);
    typists
}

/// Tags found in `text`, with how often each occurs.
fn tags_in(text: &str) -> HashMap<Tag, u32> {
    let mut found = HashMap::new();
    for piece in text.split('«').skip(1) {
        let tag = piece
            .split_once('»')
            .and_then(|(tag, _)| tag.split_once('.'));
        if let Some((typist, seq)) = tag
            && let (Ok(typist), Ok(seq)) = (typist.parse(), seq.parse())
        {
            *found.entry((typist, seq)).or_insert(0) += 1;
        }
    }
    found
}

/// Reads every room of `server` with a fresh client and returns the tags
/// `0..upto(typist)` that are not there exactly once, and each room's text.
async fn check(
    server: &TandemProcess,
    typists: &[Typist],
    rooms: &[String],
    upto: impl Fn(&Typist) -> u32,
) -> (BTreeSet<Tag>, HashMap<String, String>) {
    let mut bad = BTreeSet::new();
    let mut texts = HashMap::new();
    for room in rooms {
        let text = Client::connect(&server.ws_url(room)).await.content();
        let found = tags_in(&text);
        for typist in typists.iter().filter(|t| &t.room == room) {
            for seq in 0..upto(typist) {
                if found.get(&(typist.index, seq)) != Some(&1) {
                    bad.insert((typist.index, seq));
                }
            }
        }
        texts.insert(room.clone(), text);
    }
    (bad, texts)
}

/// The most resident memory `server` has had, KiB (`VmHWM`).
fn peak_kib_of(server: &TandemProcess) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid()));
    status
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_edits_survive_sigkill_cycles() {
    let spec = Spec::from_env();
    let began = Instant::now();
    let dir = TempDir::new("soak");
    let rooms: Vec<String> = (0..spec.rooms).map(|i| format!("soak-{i}")).collect();
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let mut typists: Vec<Typist> = (0..spec.typists)
        .map(|i| Typist::new(i as u32, rooms[i % rooms.len()].clone(), rng.u64(..)))
        .collect();
    let mut lost = BTreeSet::new();
    let mut peak_kib = 0;
    eprintln!(
        "soak: {} clients in {} rooms, {} SIGKILL cycles (seed {})",
        spec.typists, spec.rooms, spec.cycles, spec.seed
    );

    for cycle in 1..=spec.cycles {
        let server = TandemProcess::start(dir.path(), FLAGS);
        let (bad, _) = check(&server, &typists, &rooms, |t| t.durable).await;
        if !bad.is_empty() {
            eprintln!(
                "cycle {cycle}: {} acknowledged edits missing or doubled after the restart, e.g. {:?}",
                bad.len(),
                bad.iter().take(5).collect::<Vec<_>>()
            );
        }
        lost.extend(bad);
        let set = connect_all(std::mem::take(&mut typists), &server, Mode::Type).await;
        // The random moment of the crash is what a soak is for.
        let kill_at = rng.u64(0..spec.kill_within.as_millis() as u64);
        tokio::time::sleep(Duration::from_millis(kill_at)).await;
        peak_kib = peak_kib.max(peak_kib_of(&server));
        server.kill();
        typists = join_all(set, "the clients noticed the kill").await;
        if cycle % 20 == 0 || cycle == spec.cycles {
            let typed: u64 = typists.iter().map(|t| u64::from(t.typed)).sum();
            let durable: u64 = typists.iter().map(|t| u64::from(t.durable)).sum();
            eprintln!(
                "cycle {cycle}/{}: {typed} edits typed, {durable} acknowledged, {} lost ({:.0} s)",
                spec.cycles,
                lost.len(),
                began.elapsed().as_secs_f64()
            );
        }
    }
    let acknowledged: u64 = typists.iter().map(|t| u64::from(t.durable)).sum();
    let typed: u64 = typists.iter().map(|t| u64::from(t.typed)).sum();

    // The end: one more start, every typist saves what it has, and every
    // replica must equal the server's document, which holds every tag once.
    let server = TandemProcess::start(dir.path(), FLAGS);
    let (bad, _) = check(&server, &typists, &rooms, |t| t.durable).await;
    lost.extend(bad);
    for _ in 0..3 {
        let set = connect_all(std::mem::take(&mut typists), &server, Mode::Settle).await;
        typists = join_all(set, "the typists settled").await;
        if typists.iter().all(|t| t.durable == t.typed) {
            break;
        }
    }
    let (bad, texts) = check(&server, &typists, &rooms, |t| t.typed).await;
    lost.extend(bad);
    // Each replica synced with the server once more: it must now read the same.
    let set = connect_all(std::mem::take(&mut typists), &server, Mode::Settle).await;
    typists = join_all(set, "the typists synced").await;
    let differing = typists
        .iter()
        .filter(|t| texts.get(&t.room) != Some(&t.content()))
        .count();
    peak_kib = peak_kib.max(peak_kib_of(&server));
    println!(
        "cycles                 {}\n\
         edits typed            {typed}\n\
         edits acknowledged     {acknowledged}\n\
         edits lost             {}\n\
         replicas that differ   {differing}\n\
         server peak memory     {:.1} MiB (VmHWM, highest of every server process)\n\
         took                   {:.1} min",
        spec.cycles,
        lost.len(),
        peak_kib as f64 / 1024.0,
        began.elapsed().as_secs_f64() / 60.0
    );
    assert!(
        lost.is_empty() && differing == 0,
        "the soak lost {} acknowledged edits (e.g. {:?}) and left {differing} replicas different",
        lost.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
}
