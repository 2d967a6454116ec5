//! Prometheus metrics, served at `GET /metrics`.
//!
//! Every metric is named and described here, so this file is the catalogue
//! (also listed in docs/ARCHITECTURE.md). Two kinds of series need more than
//! a name and get their own file: the per-kind frame counters registered once
//! per direction (`frames`), and the per-room series, which carry a `room`
//! label only for the first `--metrics-room-labels` rooms loaded at a time so
//! the number of series stays bounded however many rooms exist (`rooms`).
//! Disconnects are labelled with the close code's own label
//! ([`CloseCode::label`](tandem_shared::close::CloseCode::label)).

mod frames;
mod rooms;

use std::sync::OnceLock;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use frames::{FrameCounters, FrameKind};
pub use rooms::{RoomLabel, RoomLabels};

/// Open WebSocket connections.
pub const CONNECTIONS_OPEN: &str = "tandem_connections_open";
/// Upgrade requests, by `result` (accepted/refused) and `reason`.
pub const UPGRADES: &str = "tandem_upgrades_total";
/// Rooms in memory.
pub const ROOMS_LOADED: &str = "tandem_rooms_loaded";
/// Frames received, by `kind`.
pub const FRAMES_IN: &str = "tandem_frames_received_total";
/// Bytes received, by `kind`.
pub const BYTES_IN: &str = "tandem_bytes_received_total";
/// Frames sent, by `kind`.
pub const FRAMES_OUT: &str = "tandem_frames_sent_total";
/// Bytes sent, by `kind`.
pub const BYTES_OUT: &str = "tandem_bytes_sent_total";
/// From an update's arrival to its being queued for every other member.
pub const RELAY_SECONDS: &str = "tandem_relay_seconds";
/// Duration of a store append (one group commit).
pub const COMMIT_SECONDS: &str = "tandem_store_commit_seconds";
/// Updates written by one group commit.
pub const COMMIT_BATCH: &str = "tandem_store_commit_batch_updates";
/// Cluster bus: from a committed batch's hand-off to the bus until Redis
/// acknowledged its entries (queueing in the publisher included).
pub const BUS_PUBLISH_SECONDS: &str = "tandem_bus_publish_seconds";
/// Cluster bus: from another node publishing an update (its clock) until
/// this node's copy of the room applied and relayed it.
pub const BUS_DELIVERY_SECONDS: &str = "tandem_bus_delivery_seconds";
/// Connections closed by the server, by `reason` (the close code's label).
pub const DISCONNECTS: &str = "tandem_disconnects_total";
/// Members of a room, by `room`.
pub const ROOM_CLIENTS: &str = "tandem_room_clients";
/// Stored size of a room's document in bytes, by `room`.
pub const ROOM_DOCUMENT_BYTES: &str = "tandem_room_document_bytes";
/// Updates applied in a room, by `room` (use `rate()` for updates per second).
pub const ROOM_UPDATES: &str = "tandem_room_updates_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls reuse it) and
/// returns the handle that renders it.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let latency = [
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5,
            ];
            let batch = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &latency)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(COMMIT_BATCH.into()), &batch))
                .expect("bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_gauge!(CONNECTIONS_OPEN, "Open WebSocket connections.");
    describe_counter!(
        UPGRADES,
        "WebSocket upgrade requests, by result and reason."
    );
    describe_gauge!(ROOMS_LOADED, "Rooms held in memory.");
    describe_counter!(FRAMES_IN, "WebSocket frames received, by kind.");
    describe_counter!(
        BYTES_IN,
        Unit::Bytes,
        "Payload bytes received, by frame kind."
    );
    describe_counter!(FRAMES_OUT, "WebSocket frames sent, by kind.");
    describe_counter!(BYTES_OUT, Unit::Bytes, "Payload bytes sent, by frame kind.");
    describe_histogram!(
        RELAY_SECONDS,
        Unit::Seconds,
        "From an update's arrival to its being queued for every other member of the room."
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Duration of one group commit."
    );
    describe_histogram!(COMMIT_BATCH, "Updates written by one group commit.");
    describe_histogram!(
        BUS_PUBLISH_SECONDS,
        Unit::Seconds,
        "Cluster bus: from a commit's hand-off to the bus until Redis acknowledged it."
    );
    describe_histogram!(
        BUS_DELIVERY_SECONDS,
        Unit::Seconds,
        "Cluster bus: from another node publishing an update until this node applied and relayed it."
    );
    describe_counter!(DISCONNECTS, "Connections closed by the server, by reason.");
    describe_gauge!(ROOM_CLIENTS, "Members of a room (labelled rooms only).");
    describe_gauge!(
        ROOM_DOCUMENT_BYTES,
        Unit::Bytes,
        "Stored size of a room's document."
    );
    describe_counter!(ROOM_UPDATES, "Updates applied in a room.");
}
