//! A loopback TCP proxy that can cut, stall and slow the connections through
//! it, to test what real networks do to WebSockets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tandem_shared::RoomId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The proxy's controls, shared with its tasks.
#[derive(Default)]
struct Controls {
    /// While set, no bytes move in either direction (sockets stay open).
    stalled: AtomicBool,
    /// Bytes per second in each direction; 0 means unlimited.
    rate: AtomicU64,
}

/// A proxy in front of `upstream`.
pub struct FaultProxy {
    pub addr: SocketAddr,
    controls: Arc<Controls>,
    /// Cancelling it drops every current connection abruptly.
    cut: std::sync::Mutex<CancellationToken>,
    stop: CancellationToken,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let proxy = Arc::new(Self {
            addr: listener.local_addr().expect("addr"),
            controls: Arc::new(Controls::default()),
            cut: std::sync::Mutex::new(CancellationToken::new()),
            stop: CancellationToken::new(),
        });
        let accepting = proxy.clone();
        tokio::spawn(async move {
            loop {
                let (inbound, _) = tokio::select! {
                    accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => return },
                    () = accepting.stop.cancelled() => return,
                };
                let Ok(outbound) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let cut = accepting.cut.lock().expect("lock").clone();
                let controls = accepting.controls.clone();
                tokio::spawn(pipe(inbound, outbound, controls, cut));
            }
        });
        proxy
    }

    /// `ws://proxy/ws/{room}`.
    pub fn ws_url(&self, room: &str) -> String {
        RoomId::new(room)
            .expect("a room name")
            .ws_url(&format!("ws://{}", self.addr))
    }

    /// Drops every current connection without a close handshake (a TCP reset
    /// from the client's point of view), as a dying Wi-Fi link would.
    pub fn cut(&self) {
        let mut cut = self.cut.lock().expect("lock");
        cut.cancel();
        *cut = CancellationToken::new();
    }

    /// Stops (or resumes) moving bytes, keeping the sockets open.
    pub fn stall(&self, stalled: bool) {
        self.controls.stalled.store(stalled, Ordering::SeqCst);
    }

    /// Limits each direction to `bytes_per_second` (0: unlimited).
    pub fn slow(&self, bytes_per_second: u64) {
        self.controls.rate.store(bytes_per_second, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut.lock().expect("lock").cancel();
    }
}

async fn pipe(
    inbound: TcpStream,
    outbound: TcpStream,
    controls: Arc<Controls>,
    cut: CancellationToken,
) {
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let up = copy(in_read, out_write, controls.clone());
    let down = copy(out_read, in_write, controls);
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        () = cut.cancelled() => {}
    }
    // Dropping the halves here closes both sockets mid-stream.
}

async fn copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    controls: Arc<Controls>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while controls.stalled.load(Ordering::SeqCst) {
            // Polling a flag the test flips; the link is meant to be dead meanwhile.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let rate = controls.rate.load(Ordering::SeqCst);
        let chunk = if rate == 0 {
            buf.len()
        } else {
            (rate as usize / 20).clamp(1, buf.len())
        };
        let n = match from.read(&mut buf[..chunk]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        if rate != 0 {
            // Pacing: n bytes at `rate` bytes per second.
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
        }
    }
}
