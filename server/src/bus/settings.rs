//! How the bus is tuned: [`BusSettings`] from the command line, and every
//! timing and bound of the bus's tasks in one place.

use std::time::Duration;

/// Retention of the streams, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct BusSettings {
    /// Entries older than this are trimmed, and an idle stream expires.
    pub retention: Duration,
    /// A stream keeps about this many entries at most.
    pub max_len: u64,
}

/// How many remote updates may wait for one room's actor; past it the room
/// resyncs from the store instead.
pub(super) const ROOM_QUEUE: usize = 256;
/// How many committed batches may wait for the publisher; past it the room
/// is marked for a resync marker.
pub(super) const PUBLISH_QUEUE: usize = 4096;
/// How long one Redis command may take before the connection counts as lost.
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one `XREAD` of the reader blocks when nothing arrives.
pub(super) const READ_BLOCK: Duration = Duration::from_secs(2);
/// Most entries the reader reads per stream per round.
pub(super) const READ_COUNT: usize = 256;
/// The reader's pause between attempts to reach Redis.
pub(super) const RECONNECT: Duration = Duration::from_millis(250);

/// How often the publisher retries owed resync markers while nothing is
/// published.
pub(super) const MARKER_RETRY: Duration = Duration::from_millis(500);

/// How often a node refreshes its liveness key and looks at the others'.
pub(crate) const BEAT: Duration = Duration::from_secs(1);
/// How long a node's liveness key (and its connection counts) outlive its
/// last refresh.
pub(crate) const TTL: Duration = Duration::from_secs(3);
/// Beats a node's key must have been missing before it leaves the set of
/// nodes (so every live node, beating as often, has seen it dead by then).
pub(super) const FORGET_AFTER: u32 = 60;

/// How long admission waits for Redis before counting locally.
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_millis(500);
