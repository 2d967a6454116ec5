//! `tandem-load soak`: native clients type into several rooms while the
//! real server is killed with SIGKILL at random moments and restarted on
//! the same data directory, cycle after cycle.
//!
//! Every client (a "typist") keeps one replica and one [`ClientSession`]
//! for the whole run, as a browser tab does across reconnects: edits it made
//! while the server was down, or that were never acknowledged, travel again
//! in its next step 2. Each edit is a unique tag (`«typist.seq»`, [`Tag`])
//! inserted at the start or the end of the text, so it stays in one piece.
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
//!
//! Loopback only; bounded by the number of cycles and a deadline on every wait.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tandem_shared::session::{Event, Outgoing};
use tandem_shared::{ClientSession, SyncFrame};
use tandem_testkit::edit;
use tandem_testkit::socket::message;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use yrs::{Doc, TextRef};

use crate::conn;
use crate::procs::{Launcher, ServerProcess};
use crate::tag::{self, Tag};
use crate::target::{ServerKind, Target};

/// What a soak run does.
#[derive(Debug, Clone)]
pub struct SoakSpec {
    /// The release server binary.
    pub tandem_bin: PathBuf,
    /// Scratch folder: the data directory lives in it.
    pub scratch: PathBuf,
    /// Kill-and-restart cycles.
    pub cycles: u32,
    /// Rooms the typists share.
    pub rooms: usize,
    /// Typists, spread over the rooms.
    pub typists: usize,
    /// The kill comes at a random moment within this long after the
    /// typists start connecting.
    pub kill_within: Duration,
    /// Seed of every random choice (kill moments, edits, pauses).
    pub seed: u64,
}

/// What a soak run found.
#[derive(Debug, Default)]
pub struct SoakReport {
    /// Cycles run (each one a start and a SIGKILL).
    pub cycles: u32,
    /// Edits typed, all typists together.
    pub typed: u64,
    /// Edits acknowledged (`saved`) by the end of the last cycle: on the
    /// connection that sent them or, when it died first, in a later
    /// connection's step 2.
    pub acknowledged: u64,
    /// Edits missing (or present twice) in a check: acknowledged ones after a
    /// restart, and any typed one at the end.
    pub lost: u64,
    /// Replicas whose text differs from the server's at the end.
    pub differing: u64,
    /// The highest `VmHWM` of any server process, KiB.
    pub peak_kib: u64,
    /// How long the run took.
    pub elapsed: Duration,
}

impl SoakReport {
    /// Whether the run kept every promise.
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.differing == 0
    }

    /// The figures, one per line.
    pub fn summary(&self) -> String {
        format!(
            "cycles                 {}\n\
             edits typed            {}\n\
             edits acknowledged     {}\n\
             edits lost             {}\n\
             replicas that differ   {}\n\
             server peak memory     {:.1} MiB (VmHWM, highest of every server process)\n\
             took                   {:.1} min",
            self.cycles,
            self.typed,
            self.acknowledged,
            self.lost,
            self.differing,
            self.peak_kib as f64 / 1024.0,
            self.elapsed.as_secs_f64() / 60.0
        )
    }
}

/// The server's flags for a soak: compaction often, so kills land in it too.
const SERVER_FLAGS: &[&str] = &["--compact-updates", "500"];

/// How long any one step (a start, a check, a connection) may take.
const STEP: Duration = Duration::from_secs(30);

/// One native client, kept across connections.
#[derive(Debug)]
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
        let replica = conn::new_replica();
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
        let tag = Tag {
            writer: self.index,
            seq: self.typed,
        };
        self.typed += 1;
        let doc = self.session.replica();
        let update = if self.rng.bool() {
            edit::append(doc, &self.text, &tag.text())
        } else {
            edit::insert(doc, &self.text, 0, &tag.text())
        };
        self.session.local_update(update)
    }

    fn content(&self) -> String {
        conn::content(self.session.replica(), &self.text)
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

/// One connection of `typist`: handshake, then type (or settle) until the
/// connection ends. Never fails: a dead server just ends the connection.
async fn connection(mut typist: Typist, target: Target, mode: Mode) -> Typist {
    let Ok(socket) = conn::open(&target, &typist.room, None).await else {
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

/// Tags found in `text`, with how often each occurs.
fn tags_in(text: &str) -> HashMap<Tag, u32> {
    let mut found = HashMap::new();
    tag::scan(text.as_bytes(), |t| *found.entry(t).or_insert(0) += 1);
    found
}

/// Checks every room of `server` against what `typists` expect: tags
/// `0..upto(typist)` present exactly once. Returns the tags that are not.
async fn check(
    target: Target,
    typists: &[Typist],
    rooms: &[String],
    upto: impl Fn(&Typist) -> u32,
) -> anyhow::Result<(BTreeSet<Tag>, HashMap<String, String>)> {
    let mut bad = BTreeSet::new();
    let mut texts = HashMap::new();
    for room in rooms {
        let reader = conn::connect(&target, room, None, STEP)
            .await
            .with_context(|| format!("reading {room}"))?;
        let text = reader.content();
        let found = tags_in(&text);
        for typist in typists.iter().filter(|t| &t.room == room) {
            for seq in 0..upto(typist) {
                let tag = Tag {
                    writer: typist.index,
                    seq,
                };
                if found.get(&tag) != Some(&1) {
                    bad.insert(tag);
                }
            }
        }
        texts.insert(room.clone(), text);
    }
    Ok((bad, texts))
}

fn start(launcher: &Launcher, data_dir: &std::path::Path) -> anyhow::Result<ServerProcess> {
    launcher.start_in_with(ServerKind::Tandem, data_dir, SERVER_FLAGS)
}

/// Runs the soak.
pub async fn run(spec: &SoakSpec) -> anyhow::Result<SoakReport> {
    anyhow::ensure!(
        spec.rooms >= 1 && spec.typists >= 1,
        "at least one room and one typist"
    );
    let began = Instant::now();
    let data_dir = spec.scratch.join("soak-data");
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)
            .with_context(|| format!("cannot clear {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(&data_dir)?;
    let launcher = Launcher {
        tandem_bin: spec.tandem_bin.clone(),
        yjs_dir: None,
        ysweet_bin: None,
        scratch: spec.scratch.clone(),
        cpu: None,
    };
    let rooms: Vec<String> = (0..spec.rooms).map(|i| format!("soak-{i}")).collect();
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let mut typists: Vec<Typist> = (0..spec.typists)
        .map(|i| Typist::new(i as u32, rooms[i % rooms.len()].clone(), rng.u64(..)))
        .collect();
    let mut report = SoakReport::default();
    let mut lost = BTreeSet::new();

    for cycle in 1..=spec.cycles {
        let server = start(&launcher, &data_dir)?;
        let target = server.target();
        let (bad, _) = tokio::time::timeout(STEP, check(target, &typists, &rooms, |t| t.durable))
            .await
            .with_context(|| format!("cycle {cycle}: the check took over {STEP:?}"))??;
        if !bad.is_empty() {
            eprintln!(
                "cycle {cycle}: {} acknowledged edits missing or doubled after the restart, e.g. {:?}",
                bad.len(),
                bad.iter().take(5).collect::<Vec<_>>()
            );
        }
        lost.extend(bad);

        let mut set = JoinSet::new();
        for typist in typists.drain(..) {
            set.spawn(connection(typist, target, Mode::Type));
        }
        let kill_at = rng.u64(0..spec.kill_within.as_millis().max(1) as u64);
        tokio::time::sleep(Duration::from_millis(kill_at)).await;
        report.peak_kib = report.peak_kib.max(server.peak_kib().unwrap_or(0));
        server.kill();
        typists = tokio::time::timeout(STEP, join_all(set))
            .await
            .with_context(|| format!("cycle {cycle}: the clients did not notice the kill"))??;
        report.cycles = cycle;
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
    report.acknowledged = typists.iter().map(|t| u64::from(t.durable)).sum();
    report.typed = typists.iter().map(|t| u64::from(t.typed)).sum();

    // The end: one more start, every typist saves what it has, and every
    // replica must equal the server's document, which holds every tag once.
    let server = start(&launcher, &data_dir)?;
    let target = server.target();
    let (bad, _) = check(target, &typists, &rooms, |t| t.durable).await?;
    lost.extend(bad);
    for _ in 0..3 {
        let mut set = JoinSet::new();
        for typist in typists.drain(..) {
            set.spawn(connection(typist, target, Mode::Settle));
        }
        typists = tokio::time::timeout(STEP, join_all(set))
            .await
            .context("the typists did not settle")??;
        if typists.iter().all(|t| t.durable == t.typed) {
            break;
        }
    }
    let (bad, texts) = check(target, &typists, &rooms, |t| t.typed).await?;
    lost.extend(bad);
    // Each replica synced with the server once more: it must now read the same.
    let mut set = JoinSet::new();
    for typist in typists.drain(..) {
        set.spawn(connection(typist, target, Mode::Settle));
    }
    typists = tokio::time::timeout(STEP, join_all(set))
        .await
        .context("the typists did not sync")??;
    report.differing = typists
        .iter()
        .filter(|t| texts.get(&t.room) != Some(&t.content()))
        .count() as u64;
    report.peak_kib = report.peak_kib.max(server.peak_kib().unwrap_or(0));
    server.stop(STEP);
    report.lost = lost.len() as u64;
    report.elapsed = began.elapsed();
    Ok(report)
}

async fn join_all(mut set: JoinSet<Typist>) -> anyhow::Result<Vec<Typist>> {
    let mut typists = Vec::new();
    while let Some(joined) = set.join_next().await {
        typists.push(joined.context("a typist task failed")?);
    }
    typists.sort_by_key(|t| t.index);
    Ok(typists)
}
