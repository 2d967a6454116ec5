//! The TCP socket under each HTTP connection, reachable from a WebSocket
//! upgrade: its send buffer is bounded once the connection becomes a
//! WebSocket, and a connection cut as a slow consumer is reset on close.
//!
//! hyper hides the socket of an upgraded connection (its HTTP version
//! detection wraps it in a private type, so `Upgraded::downcast` cannot get
//! it back). So the listener ([`SocketListener`]) wraps each accepted stream
//! in a [`TcpIo`] that shares a small [`SocketControl`] with the requests of
//! that connection: [`into_make_service`] puts it in every request's
//! extensions (beside the usual `ConnectInfo<SocketAddr>`), and the upgrade
//! takes it from there.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tracing::debug;

/// What the WebSocket side asks of the socket under its connection.
#[derive(Debug, Default)]
pub(crate) struct SocketControl {
    /// `SO_SNDBUF` to set at the next write (0: nothing to do).
    send_buffer: AtomicUsize,
    /// Reset the connection (`SO_LINGER` 0) when the socket is closed.
    reset: AtomicBool,
}

impl SocketControl {
    /// Bounds what the kernel keeps queued for this socket. Without it,
    /// Linux grows a socket's send buffer up to `tcp_wmem`'s maximum (4 MiB):
    /// a client that stops reading pins that much after the server has cut
    /// it. Set on upgrade only: plain HTTP downloads keep autotuning.
    pub(crate) fn bound_send_buffer(&self, bytes: usize) {
        self.send_buffer.store(bytes, Ordering::Relaxed);
    }

    /// Resets the connection when the socket is closed: the peer stopped
    /// reading, nothing queued would reach it, and a graceful close would
    /// leave the kernel holding the queue in FIN-WAIT-1 until it gives up.
    pub(crate) fn reset_on_close(&self) {
        self.reset.store(true, Ordering::Relaxed);
    }
}

/// An accepted TCP stream with its [`SocketControl`].
#[derive(Debug)]
pub(crate) struct TcpIo {
    stream: TcpStream,
    control: Arc<SocketControl>,
}

impl Drop for TcpIo {
    fn drop(&mut self) {
        if self.control.reset.load(Ordering::Relaxed) {
            // A zero linger makes close() drop the unsent queue and send RST.
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

impl TcpIo {
    /// Sets the send buffer a WebSocket upgrade asked for, once, before the
    /// first write after it.
    fn apply_send_buffer(&self) {
        let bytes = self.control.send_buffer.swap(0, Ordering::Relaxed);
        if bytes != 0
            && let Err(err) = socket2::SockRef::from(&self.stream).set_send_buffer_size(bytes)
        {
            debug!(error = %err, "cannot set SO_SNDBUF");
        }
    }
}

impl AsyncRead for TcpIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.apply_send_buffer();
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // The WebSocket side writes vectored (header and shared payload).
        self.apply_send_buffer();
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A listener whose streams are [`TcpIo`]s.
#[derive(Debug)]
pub(crate) struct SocketListener<L> {
    inner: L,
}

impl<L> SocketListener<L> {
    /// Wraps `inner`'s accepted streams.
    pub(crate) fn new(inner: L) -> Self {
        Self { inner }
    }
}

impl<L> Listener for SocketListener<L>
where
    L: Listener<Io = TcpStream, Addr = SocketAddr>,
{
    type Io = TcpIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = self.inner.accept().await;
        let io = TcpIo {
            stream,
            control: Arc::default(),
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// `router` as the make-service for [`axum::serve`] over a
/// [`SocketListener`]: every request carries `ConnectInfo<SocketAddr>` and
/// its connection's [`SocketControl`].
pub(crate) fn into_make_service(router: Router) -> MakeService {
    MakeService { router }
}

/// See [`into_make_service`].
#[derive(Debug, Clone)]
pub(crate) struct MakeService {
    router: Router,
}

impl<L> tower::Service<IncomingStream<'_, SocketListener<L>>> for MakeService
where
    L: Listener<Io = TcpStream, Addr = SocketAddr>,
{
    type Response = ConnectionService;
    type Error = Infallible;
    type Future = std::future::Ready<Result<ConnectionService, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, SocketListener<L>>) -> Self::Future {
        std::future::ready(Ok(ConnectionService {
            router: self.router.clone(),
            peer: *stream.remote_addr(),
            control: stream.io().control.clone(),
        }))
    }
}

/// The router for one connection's requests.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    control: Arc<SocketControl>,
}

impl tower::Service<Request> for ConnectionService {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = <Router as tower::Service<Request>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        tower::Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        request.extensions_mut().insert(self.control.clone());
        self.router.call(request)
    }
}
