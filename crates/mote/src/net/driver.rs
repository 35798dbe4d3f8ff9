//! The driver task: owns the endpoint, the sockets' reader tasks feed it, it writes out.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mote_coap::endpoint::tcp_session::ConnectionRole;
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, NoProtection, Protection, Transmit};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Notify, mpsc};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{Flow, Listen, NetError, OsRandom, Remote};

/// How long a connect asked for by [`Application::poll_connect`] may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The endpoint the driver owns; `X` is its protection layer (OSCORE, EDHOC, or none).
pub(crate) type CoapEndpoint<X = NoProtection> = Endpoint<Remote, OsRandom, X>;

/// Bounds and timing of the I/O layer (the endpoint's own bounds are in its
/// [`EndpointConfig`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DriverConfig {
    /// Open TCP connections, accepted and initiated; an accepted one beyond is closed at once.
    pub(crate) max_connections: usize,
    /// Inputs (datagrams, stream chunks, accepted connections) queued for the driver task;
    /// a full queue makes the reader tasks wait (UDP datagrams then queue in, and overflow
    /// from, the kernel's buffer).
    pub(crate) input_queue: usize,
    /// Chunks queued for one connection's writer. A peer that does not read until this fills
    /// is disconnected: the driver never waits for one connection.
    pub(crate) writer_queue: usize,
    /// Bytes read from one connection that the endpoint has not taken yet (its back-pressure);
    /// beyond this the connection is closed.
    pub(crate) max_stream_backlog: usize,
    /// Size of one TCP read.
    pub(crate) read_chunk: usize,
    /// First pause after `accept` fails (EMFILE, ENFILE, ENOBUFS…); doubles up to
    /// `accept_backoff_max`, so a listener whose accepts keep failing does not spin.
    pub(crate) accept_backoff: Duration,
    /// The longest pause after failing accepts.
    pub(crate) accept_backoff_max: Duration,
    /// After the endpoint ended a connection (Release, Abort, idle timeout; RFC 8323 §5.5,
    /// §5.6), how long its writer may take to write the last bytes before the socket is
    /// closed anyway (a peer that does not read would otherwise keep it open).
    pub(crate) release_grace: Duration,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            max_connections: 64,
            input_queue: 256,
            writer_queue: 64,
            max_stream_backlog: 64 * 1024,
            read_chunk: 4096,
            accept_backoff: Duration::from_millis(50),
            accept_backoff_max: Duration::from_secs(2),
            release_grace: Duration::from_secs(2),
        }
    }
}

/// What an [`Application`] callback may use: the current time on the endpoint's clock and
/// the endpoint itself (`respond`, `request`, `stats`, …).
#[derive(Debug)]
pub(crate) struct Io<'a, X: Protection<Remote> = NoProtection> {
    /// Now, on the endpoint's clock (since the driver was created).
    pub(crate) now: Duration,
    /// The endpoint.
    pub(crate) endpoint: &'a mut CoapEndpoint<X>,
}

/// The application on top of the driver: a server's resources, a client's requests, a proxy.
pub(crate) trait Application<X: Protection<Remote> = NoProtection> {
    /// Called once when [`Driver::run`] starts (a client sends its first request here).
    fn start(&mut self, _io: &mut Io<'_, X>) -> Flow {
        Flow::Continue(())
    }

    /// Called for every event of the endpoint, in order.
    fn event(&mut self, io: &mut Io<'_, X>, event: Event<Remote, X::Identity>) -> Flow;

    /// The application's own next deadline on the endpoint's clock (a periodic notification,
    /// a delayed forward), if any; the driver wakes up for it as for the endpoint's timers.
    fn poll_timeout(&self) -> Option<Duration> {
        None
    }

    /// Called when [`Application::poll_timeout`] has passed.
    fn handle_timeout(&mut self, _io: &mut Io<'_, X>) -> Flow {
        Flow::Continue(())
    }

    /// Called after [`Driver::waker`] was notified (another task, e.g. an HTTP handler, put
    /// work in the application's own queue).
    fn wake(&mut self, _io: &mut Io<'_, X>) -> Flow {
        Flow::Continue(())
    }

    /// A peer the application wants a new flow to while running (a proxy's per-client
    /// upstream socket or connection), with the application's own number for it: the driver
    /// opens it in the background (a TCP connect that takes seconds holds up nothing else;
    /// each is bounded by a 5 s timeout) and hands the result to [`Application::connected`]
    /// with that number, in the order the connects finish.
    fn poll_connect(&mut self) -> Option<(u64, Listen)> {
        None
    }

    /// The outcome of the connect [`Application::poll_connect`] asked for as `ticket`.
    fn connected(
        &mut self,
        _io: &mut Io<'_, X>,
        _ticket: u64,
        _result: Result<Remote, NetError>,
    ) -> Flow {
        Flow::Continue(())
    }

    /// A flow the application opened through [`Application::poll_connect`] and wants closed
    /// now (a proxy's idle or orphaned upstream flow): the driver calls [`Driver::close_flow`]
    /// for each, in the order asked.
    fn poll_close(&mut self) -> Option<Remote> {
        None
    }
}

/// Stops a running [`Driver`] from anywhere (another task or thread). A shutdown requested
/// before [`Driver::run`] starts waiting is kept. (The commands end their runs through
/// [`Application`]'s `Flow`; the tests stop servers with it.)
#[cfg(test)]
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(Arc<Notify>);

#[cfg(test)]
impl Shutdown {
    /// Asks the driver to return from [`Driver::run`].
    pub(crate) fn shutdown(&self) {
        self.0.notify_one();
    }
}

/// The runtime the driver is meant for: one thread, I/O and timers.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, NetError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(NetError::Runtime)
}

/// What the reader tasks send to the driver task.
#[derive(Debug)]
enum Input {
    Datagram {
        socket: usize,
        from: SocketAddr,
        bytes: Vec<u8>,
    },
    Accepted {
        stream: TcpStream,
        from: SocketAddr,
    },
    Stream {
        connection: u64,
        bytes: Vec<u8>,
    },
    Closed {
        connection: u64,
    },
    /// A background connect ([`Application::poll_connect`]) finished.
    Connected {
        ticket: u64,
        /// A TCP connect (counted in `pending_connects`).
        tcp: bool,
        result: Result<Opened, NetError>,
    },
}

/// What a background connect opened, not yet the driver's.
#[derive(Debug)]
enum Opened {
    Udp(UdpSocket, SocketAddr),
    Tcp(TcpStream, SocketAddr),
}

/// One UDP socket of the driver.
#[derive(Debug)]
struct Udp {
    socket: Arc<UdpSocket>,
    reader_task: AbortHandle,
    /// Opened by [`Driver::connect`] (a flow that [`Driver::close_flow`] may close), not
    /// [`Driver::bind`].
    outbound: bool,
}

#[derive(Debug)]
struct Connection {
    addr: SocketAddr,
    /// Opened by [`Driver::connect`] (Connection Initiator), not accepted.
    outbound: bool,
    writer: mpsc::Sender<Vec<u8>>,
    reader_task: AbortHandle,
    writer_task: AbortHandle,
    /// Bytes read that the endpoint has not taken yet.
    backlog: Vec<u8>,
}

enum Wake {
    Shutdown,
    App,
    Input(Option<Input>),
    Timer,
}

/// The tokio driver around one [`CoapEndpoint`] (see the module documentation for the call
/// order).
#[derive(Debug)]
pub(crate) struct Driver<X: Protection<Remote> = NoProtection> {
    config: DriverConfig,
    endpoint: CoapEndpoint<X>,
    epoch: Instant,
    /// The endpoint's time at `epoch` ([`Driver::start_clock_at`]).
    start: Duration,
    /// UDP sockets by number; a number is never reused, so a closed socket's number cannot
    /// reach another socket's peer.
    udp: BTreeMap<usize, Udp>,
    next_udp: usize,
    connections: BTreeMap<u64, Connection>,
    next_connection: u64,
    /// TCP connects running in the background (they count against
    /// [`DriverConfig::max_connections`]).
    pending_connects: usize,
    input_tx: mpsc::Sender<Input>,
    input_rx: mpsc::Receiver<Input>,
    /// Every reader, writer and accept task; dropping the driver aborts them.
    tasks: JoinSet<()>,
    shutdown: Arc<Notify>,
    /// Wakes the run loop for [`Application::wake`].
    wake: Arc<Notify>,
}

impl Driver {
    /// A driver with no socket yet and no protection layer; its endpoint draws randomness from
    /// the OS.
    ///
    /// # Errors
    /// [`NetError::Endpoint`] when the endpoint configuration is invalid.
    pub(crate) fn new(config: DriverConfig, endpoint: EndpointConfig) -> Result<Self, NetError> {
        Self::with_protection(config, endpoint, NoProtection)
    }
}

impl<X: Protection<Remote>> Driver<X> {
    /// A driver whose endpoint protects messages with `protection` (RFC 8613 §2: between the
    /// message layer and the request/response layer).
    ///
    /// # Errors
    /// [`NetError::Endpoint`] when the endpoint configuration is invalid.
    pub(crate) fn with_protection(
        config: DriverConfig,
        endpoint: EndpointConfig,
        protection: X,
    ) -> Result<Self, NetError> {
        let endpoint = Endpoint::with_protection(endpoint, OsRandom, protection)?;
        let (input_tx, input_rx) = mpsc::channel(config.input_queue.max(1));
        Ok(Self {
            config,
            endpoint,
            epoch: Instant::now(),
            start: Duration::ZERO,
            udp: BTreeMap::new(),
            next_udp: 0,
            connections: BTreeMap::new(),
            next_connection: 0,
            pending_connects: 0,
            input_tx,
            input_rx,
            tasks: JoinSet::new(),
            shutdown: Arc::new(Notify::new()),
            wake: Arc::new(Notify::new()),
        })
    }

    /// Makes the endpoint's clock read `start` now (e.g. the Unix time, so that times the
    /// application keeps stay meaningful across restarts); call before [`Driver::run`].
    pub(crate) fn start_clock_at(&mut self, start: Duration) {
        self.epoch = Instant::now();
        self.start = start;
    }

    /// A handle that makes the running driver call [`Application::wake`] (a notification
    /// given while the driver is busy is kept, never lost).
    pub(crate) fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// A handle that stops [`Driver::run`].
    #[cfg(test)]
    pub(crate) fn shutdown_handle(&self) -> Shutdown {
        Shutdown(Arc::clone(&self.shutdown))
    }

    /// The endpoint (to read its statistics, or to queue requests before [`Driver::run`]).
    pub(crate) fn endpoint(&mut self) -> &mut CoapEndpoint<X> {
        &mut self.endpoint
    }

    /// Now, on the endpoint's clock.
    pub(crate) fn now(&self) -> Duration {
        self.start + self.epoch.elapsed()
    }

    /// Open TCP connections.
    #[cfg(test)]
    pub(crate) fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// Serves on a UDP socket or TCP listener; returns the bound address (so port 0 works).
    ///
    /// # Errors
    /// [`NetError::Bind`].
    pub(crate) async fn bind(&mut self, listen: Listen) -> Result<SocketAddr, NetError> {
        match listen {
            Listen::Udp(addr) => {
                let socket = UdpSocket::bind(addr)
                    .await
                    .map_err(|source| NetError::Bind {
                        what: "UDP socket",
                        addr,
                        source,
                    })?;
                let local = socket.local_addr().map_err(|source| NetError::Bind {
                    what: "UDP socket",
                    addr,
                    source,
                })?;
                self.add_udp(socket, false);
                info!(%local, "serving CoAP over UDP");
                Ok(local)
            }
            Listen::Tcp(addr) => {
                let bind_error = |source| NetError::Bind {
                    what: "TCP listener",
                    addr,
                    source,
                };
                let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
                let local = listener.local_addr().map_err(bind_error)?;
                let tx = self.input_tx.clone();
                let backoff = (self.config.accept_backoff, self.config.accept_backoff_max);
                self.tasks.spawn(accept_tcp(listener, tx, backoff));
                info!(%local, "serving CoAP over TCP");
                Ok(local)
            }
        }
    }

    /// Client role: a peer to send requests to. UDP gets its own socket on an ephemeral port;
    /// TCP connects and opens the session as the Connection Initiator (RFC 8323 §3.3).
    ///
    /// # Errors
    /// [`NetError::Bind`], [`NetError::Connect`], [`NetError::TooManyConnections`],
    /// [`NetError::Endpoint`].
    pub(crate) async fn connect(&mut self, server: Listen) -> Result<Remote, NetError> {
        if matches!(server, Listen::Tcp(_)) {
            self.connection_room()?;
        }
        let opened = open(server).await?;
        self.adopt(opened)
    }

    /// Whether one more TCP connection may be opened.
    fn connection_room(&self) -> Result<(), NetError> {
        if self.connections.len() + self.pending_connects >= self.config.max_connections {
            return Err(NetError::TooManyConnections {
                capacity: self.config.max_connections,
            });
        }
        Ok(())
    }

    /// Makes what a connect opened the driver's: a UDP flow's socket, a TCP flow's connection.
    fn adopt(&mut self, opened: Opened) -> Result<Remote, NetError> {
        match opened {
            Opened::Udp(socket, addr) => {
                let socket = self.add_udp(socket, true);
                Ok(Remote::Udp { socket, addr })
            }
            Opened::Tcp(stream, addr) => {
                self.add_connection(stream, addr, ConnectionRole::Initiator)
            }
        }
    }

    /// Starts the connect of [`Application::poll_connect`] in the background; its result
    /// comes back as [`Input::Connected`].
    fn start_connect(&mut self, ticket: u64, server: Listen) -> Result<(), NetError> {
        if matches!(server, Listen::Tcp(_)) {
            self.connection_room()?;
            self.pending_connects += 1;
        }
        let tx = self.input_tx.clone();
        let tcp = matches!(server, Listen::Tcp(_));
        self.tasks.spawn(async move {
            let result = tokio::time::timeout(CONNECT_TIMEOUT, open(server))
                .await
                .unwrap_or_else(|_| {
                    let addr = match server {
                        Listen::Udp(a) | Listen::Tcp(a) => a,
                    };
                    Err(NetError::Connect {
                        addr,
                        source: std::io::ErrorKind::TimedOut.into(),
                    })
                });
            let _ = tx
                .send(Input::Connected {
                    ticket,
                    tcp,
                    result,
                })
                .await;
        });
        Ok(())
    }

    /// The local address of the socket that reaches `remote` (a UDP peer's socket; `None`
    /// for a TCP connection or an unknown socket).
    pub(crate) fn local_addr(&self, remote: Remote) -> Option<SocketAddr> {
        match remote {
            Remote::Udp { socket, .. } => self.udp.get(&socket)?.socket.local_addr().ok(),
            Remote::Tcp { .. } => None,
        }
    }

    /// Runs until `app` breaks or (in tests) a `Shutdown` handle fires: feeds every input to the
    /// endpoint, writes its transmits out, hands its events to `app`, and sleeps until its
    /// `poll_timeout`.
    ///
    /// # Errors
    /// None today; the signature leaves room for fatal I/O errors.
    pub(crate) async fn run(&mut self, app: &mut impl Application<X>) -> Result<(), NetError> {
        let now = self.now();
        let mut flow = app.start(&mut Io {
            now,
            endpoint: &mut self.endpoint,
        });
        loop {
            if self.settle(app).is_break() || flow.is_break() {
                break;
            }
            if let Some((ticket, server)) = app.poll_connect() {
                // In the background: the other peers' traffic goes on meanwhile.
                if let Err(e) = self.start_connect(ticket, server) {
                    let mut io = Io {
                        now: self.now(),
                        endpoint: &mut self.endpoint,
                    };
                    flow = app.connected(&mut io, ticket, Err(e));
                }
                continue;
            }
            if let Some(closing) = app.poll_close() {
                self.close_flow(closing);
                continue;
            }
            while self.tasks.try_join_next().is_some() {}
            let deadline = match (self.endpoint.poll_timeout(), app.poll_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
            .map(|d| self.epoch + d.saturating_sub(self.start));
            let shutdown = Arc::clone(&self.shutdown);
            let app_wake = Arc::clone(&self.wake);
            // Biased, timer before input: a flood of datagrams must not starve retransmissions.
            let wake = tokio::select! {
                biased;
                () = shutdown.notified() => Wake::Shutdown,
                () = app_wake.notified() => Wake::App,
                () = sleep_until(deadline) => Wake::Timer,
                input = self.input_rx.recv() => Wake::Input(input),
            };
            match wake {
                Wake::Shutdown => break,
                Wake::App => {
                    let mut io = Io {
                        now: self.now(),
                        endpoint: &mut self.endpoint,
                    };
                    flow = app.wake(&mut io);
                }
                // The driver holds a sender itself, so the channel never closes.
                Wake::Input(None) => flow = Flow::Break(()),
                Wake::Input(Some(Input::Connected {
                    ticket,
                    tcp,
                    result,
                })) => {
                    if tcp {
                        self.pending_connects = self.pending_connects.saturating_sub(1);
                    }
                    let result = result.and_then(|opened| self.adopt(opened));
                    let mut io = Io {
                        now: self.now(),
                        endpoint: &mut self.endpoint,
                    };
                    flow = app.connected(&mut io, ticket, result);
                }
                Wake::Input(Some(input)) => self.input(input),
                Wake::Timer => {
                    let now = self.now();
                    self.endpoint.handle_timeout(now);
                    if app.poll_timeout().is_some_and(|at| at <= now) {
                        let mut io = Io {
                            now,
                            endpoint: &mut self.endpoint,
                        };
                        flow = app.handle_timeout(&mut io);
                    }
                }
            }
        }
        info!("driver stopped");
        Ok(())
    }

    /// Closes a flow that [`Driver::connect`] opened: its UDP socket (the reader stops, the
    /// port is released; the endpoint's state for its peer ages out by the endpoint's own
    /// timers, and the socket's number is never reused) or its TCP connection (the endpoint's
    /// session ends with [`Event::ConnectionClosed`]). Returns whether there was such a flow;
    /// a socket or listener of [`Driver::bind`] and an accepted connection are never closed
    /// here.
    pub(crate) fn close_flow(&mut self, flow: Remote) -> bool {
        match flow {
            Remote::Udp { socket, addr } => {
                if !self.udp.get(&socket).is_some_and(|u| u.outbound) {
                    return false;
                }
                if let Some(u) = self.udp.remove(&socket) {
                    u.reader_task.abort();
                }
                debug!(%addr, socket, "UDP flow closed");
                true
            }
            Remote::Tcp { connection, .. } => {
                if !self
                    .connections
                    .get(&connection)
                    .is_some_and(|c| c.outbound)
                {
                    return false;
                }
                self.close(connection);
                true
            }
        }
    }

    /// UDP sockets open (bound and connected).
    #[cfg(test)]
    pub(crate) fn udp_count(&self) -> usize {
        self.udp.len()
    }

    fn add_udp(&mut self, socket: UdpSocket, outbound: bool) -> usize {
        let index = self.next_udp;
        self.next_udp += 1;
        let socket = Arc::new(socket);
        // One byte more than the endpoint accepts, so an oversized datagram reaches it as
        // oversized (and is counted) instead of truncated into something else.
        let size = self
            .endpoint
            .config()
            .limits
            .max_message_size
            .saturating_add(1);
        let tx = self.input_tx.clone();
        let pause = self.config.accept_backoff;
        let reader_task = self
            .tasks
            .spawn(read_udp(Arc::clone(&socket), index, size, tx, pause));
        self.udp.insert(
            index,
            Udp {
                socket,
                reader_task,
                outbound,
            },
        );
        index
    }

    fn add_connection(
        &mut self,
        stream: TcpStream,
        addr: SocketAddr,
        role: ConnectionRole,
    ) -> Result<Remote, NetError> {
        // Small CoAP frames must not wait for Nagle's algorithm.
        if let Err(e) = stream.set_nodelay(true) {
            debug!(%addr, error = %e, "TCP_NODELAY");
        }
        let connection = self.next_connection;
        self.next_connection += 1;
        let (read, write) = stream.into_split();
        let (writer, queue) = mpsc::channel(self.config.writer_queue.max(1));
        let chunk = self.config.read_chunk.max(1);
        let reader_task =
            self.tasks
                .spawn(read_tcp(read, connection, chunk, self.input_tx.clone()));
        let writer_task =
            self.tasks
                .spawn(write_tcp(write, queue, connection, self.input_tx.clone()));
        self.connections.insert(
            connection,
            Connection {
                addr,
                outbound: role == ConnectionRole::Initiator,
                writer,
                reader_task,
                writer_task,
                backlog: Vec::new(),
            },
        );
        let remote = Remote::Tcp { connection, addr };
        let now = self.now();
        if let Err(e) = self.endpoint.open_connection(now, remote, role) {
            self.close(connection);
            return Err(e.into());
        }
        debug!(%addr, connection, ?role, "TCP connection open");
        Ok(remote)
    }

    /// Forgets a connection and stops its reader and writer at once, which closes the socket.
    /// The writer is not left to drain: a peer that stopped reading would keep it (and its
    /// socket) alive outside [`DriverConfig::max_connections`].
    fn close(&mut self, connection: u64) {
        let Some(c) = self.connections.remove(&connection) else {
            return;
        };
        c.reader_task.abort();
        c.writer_task.abort();
        let now = self.now();
        let remote = Remote::Tcp {
            connection,
            addr: c.addr,
        };
        self.endpoint.connection_closed(now, remote);
        debug!(addr = %c.addr, connection, "TCP connection closed");
    }

    /// The endpoint ended the connection (its session sent or received a Release or Abort,
    /// or went idle): the reader stops now; the writer writes what is queued (the last frames)
    /// and shuts the socket down, or is stopped after [`DriverConfig::release_grace`].
    /// Without this the socket and both tasks would stay until the peer closed.
    fn release(&mut self, connection: u64) {
        // The session's last frames go to the writer before it is cut off.
        while let Some(transmit) = self.endpoint.poll_transmit() {
            self.send(transmit);
        }
        let Some(c) = self.connections.remove(&connection) else {
            return;
        };
        // The endpoint forgets the ended session now, so it no longer counts against
        // `EndpointLimits::max_connections`.
        let now = self.now();
        let remote = Remote::Tcp {
            connection,
            addr: c.addr,
        };
        self.endpoint.connection_closed(now, remote);
        c.reader_task.abort();
        drop(c.writer);
        let writer = c.writer_task;
        let grace = self.config.release_grace;
        self.tasks.spawn(async move {
            tokio::time::sleep(grace).await;
            writer.abort();
        });
        debug!(addr = %c.addr, connection, "TCP connection released by the endpoint");
    }

    fn input(&mut self, input: Input) {
        let now = self.now();
        match input {
            Input::Datagram {
                socket,
                from,
                bytes,
            } => {
                let peer = Remote::Udp { socket, addr: from };
                self.endpoint.handle(now, peer, &bytes);
            }
            Input::Accepted { stream, from } => {
                if self.connections.len() >= self.config.max_connections {
                    // Dropping the stream closes it: refused, not queued.
                    warn!(
                        %from,
                        max = self.config.max_connections,
                        "TCP connection refused: connection limit reached"
                    );
                } else if let Err(e) = self.add_connection(stream, from, ConnectionRole::Acceptor) {
                    warn!(%from, error = %e, "TCP connection refused");
                }
            }
            Input::Stream { connection, bytes } => {
                let Some(c) = self.connections.get_mut(&connection) else {
                    return;
                };
                c.backlog.extend_from_slice(&bytes);
                if c.backlog.len() > self.config.max_stream_backlog {
                    warn!(addr = %c.addr, "TCP peer sends faster than it is served; closing");
                    self.close(connection);
                    return;
                }
                self.offer(connection);
            }
            Input::Closed { connection } => self.close(connection),
            // Handled by the run loop, which hands it to the application; one that reaches
            // here (no application) drops what it opened.
            Input::Connected { .. } => {}
        }
    }

    /// Offers a connection's backlog to the endpoint; returns whether it took anything.
    fn offer(&mut self, connection: u64) -> bool {
        let now = self.now();
        let Some(c) = self.connections.get_mut(&connection) else {
            return false;
        };
        if c.backlog.is_empty() {
            return false;
        }
        let remote = Remote::Tcp {
            connection,
            addr: c.addr,
        };
        let taken = self
            .endpoint
            .handle_stream(now, remote, &c.backlog)
            .min(c.backlog.len());
        c.backlog.drain(..taken);
        taken > 0
    }

    /// Drains transmits and events until neither is left and no backlog moves (RFC 8323
    /// back-pressure: the endpoint takes more stream bytes only after it was drained).
    fn settle(&mut self, app: &mut impl Application<X>) -> Flow {
        let mut flow = Flow::Continue(());
        loop {
            let mut progress = false;
            while let Some(transmit) = self.endpoint.poll_transmit() {
                progress = true;
                self.send(transmit);
            }
            while let Some(event) = self.endpoint.poll_event() {
                progress = true;
                let ended = match &event {
                    Event::ConnectionClosed {
                        peer: Remote::Tcp { connection, .. },
                        ..
                    } => Some(*connection),
                    _ => None,
                };
                let now = self.now();
                let mut io = Io {
                    now,
                    endpoint: &mut self.endpoint,
                };
                if app.event(&mut io, event).is_break() {
                    flow = Flow::Break(());
                }
                if let Some(connection) = ended {
                    self.release(connection);
                }
            }
            let waiting: Vec<u64> = self
                .connections
                .iter()
                .filter(|(_, c)| !c.backlog.is_empty())
                .map(|(id, _)| *id)
                .collect();
            for connection in waiting {
                progress |= self.offer(connection);
            }
            if !progress {
                return flow;
            }
        }
    }

    /// Writes one transmit without ever waiting: a UDP datagram the socket cannot take now is
    /// dropped (CON retransmission covers it, RFC 7252 §4.2); a TCP peer whose writer queue is
    /// full is disconnected.
    fn send(&mut self, transmit: Transmit<Remote>) {
        match transmit.peer {
            Remote::Udp { socket, addr } => {
                let Some(s) = self.udp.get(&socket) else {
                    debug!(%addr, socket, "datagram for a closed socket dropped");
                    return;
                };
                if let Err(e) = s.socket.try_send_to(&transmit.datagram, addr) {
                    debug!(%addr, error = %e, "UDP datagram not sent");
                }
            }
            Remote::Tcp { connection, addr } => {
                let Some(c) = self.connections.get(&connection) else {
                    debug!(%addr, "stream bytes for a closed connection dropped");
                    return;
                };
                match c.writer.try_send(transmit.datagram) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        warn!(%addr, "TCP peer does not read; closing its connection");
                        self.close(connection);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => self.close(connection),
                }
            }
        }
    }
}

/// Opens a flow to `server`: a UDP socket on an ephemeral port, or a TCP connection.
async fn open(server: Listen) -> Result<Opened, NetError> {
    match server {
        Listen::Udp(addr) => {
            let any = match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            let local = SocketAddr::new(any, 0);
            let bind_error = |source| NetError::Bind {
                what: "UDP socket",
                addr: local,
                source,
            };
            let socket = UdpSocket::bind(local).await.map_err(bind_error)?;
            // `try_send_to` reports WouldBlock until the reactor has seen the socket
            // writable once: without this a client's first request is dropped and only its
            // retransmission (RFC 7252 §4.2, seconds later) goes out.
            socket.writable().await.map_err(bind_error)?;
            Ok(Opened::Udp(socket, addr))
        }
        Listen::Tcp(addr) => {
            let stream = TcpStream::connect(addr)
                .await
                .map_err(|source| NetError::Connect { addr, source })?;
            Ok(Opened::Tcp(stream, addr))
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn read_udp(
    socket: Arc<UdpSocket>,
    index: usize,
    size: usize,
    tx: mpsc::Sender<Input>,
    pause: Duration,
) {
    let mut buf = vec![0; size];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let bytes = buf.get(..n).unwrap_or_default().to_vec();
                let input = Input::Datagram {
                    socket: index,
                    from,
                    bytes,
                };
                if tx.send(input).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // Not fatal (an ICMP error reported on the socket, say); pause so a
                // persistent error cannot spin.
                debug!(socket = index, error = %e, "UDP receive failed");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

async fn accept_tcp(
    listener: TcpListener,
    tx: mpsc::Sender<Input>,
    (first, max): (Duration, Duration),
) {
    let mut backoff = first;
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                backoff = first;
                if tx.send(Input::Accepted { stream, from }).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // EMFILE and friends leave the connection in the backlog: accepting again at
                // once would fail again at once.
                warn!(error = %e, ?backoff, "accept failed; pausing");
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2).min(max);
            }
        }
    }
}

async fn read_tcp(mut read: OwnedReadHalf, connection: u64, chunk: usize, tx: mpsc::Sender<Input>) {
    let mut buf = vec![0; chunk];
    loop {
        match read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let bytes = buf.get(..n).unwrap_or_default().to_vec();
                if tx.send(Input::Stream { connection, bytes }).await.is_err() {
                    return;
                }
            }
        }
    }
    let _closed = tx.send(Input::Closed { connection }).await;
}

async fn write_tcp(
    mut write: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Vec<u8>>,
    connection: u64,
    tx: mpsc::Sender<Input>,
) {
    while let Some(bytes) = queue.recv().await {
        if write.write_all(&bytes).await.is_err() {
            let _closed = tx.send(Input::Closed { connection }).await;
            return;
        }
    }
    let _shut = write.shutdown().await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::{Driver, DriverConfig, Input, Listen, Remote, Transmit, runtime};
    use mote_coap::endpoint::EndpointConfig;
    use mote_coap::endpoint::TransmitKind;

    /// Accepts one connection from the loopback and returns its peer address.
    async fn accept_one(driver: &mut Driver) -> std::net::SocketAddr {
        let input = driver.input_rx.recv().await.unwrap();
        let Input::Accepted { from, .. } = &input else {
            panic!("{input:?}")
        };
        let from = *from;
        driver.input(input);
        from
    }

    /// Bytes the endpoint has not taken are bounded per connection: one more than
    /// `max_stream_backlog` closes the connection, exactly that many does not.
    #[test]
    fn a_stream_backlog_over_its_bound_closes_the_connection() {
        runtime().unwrap().block_on(async {
            let config = DriverConfig {
                max_stream_backlog: 16,
                ..DriverConfig::default()
            };
            let mut driver = Driver::new(config, EndpointConfig::default()).unwrap();
            let addr = driver
                .bind(Listen::Tcp("127.0.0.1:0".parse().unwrap()))
                .await
                .unwrap();
            let _a = tokio::net::TcpStream::connect(addr).await.unwrap();
            accept_one(&mut driver).await;
            let _b = tokio::net::TcpStream::connect(addr).await.unwrap();
            accept_one(&mut driver).await;
            assert_eq!(driver.connection_count(), 2);
            for (connection, len) in [(0, 16), (1, 17)] {
                driver.input(Input::Stream {
                    connection,
                    bytes: vec![0; len],
                });
            }
            assert_eq!(driver.connections.keys().copied().collect::<Vec<_>>(), [0]);
        });
    }

    /// `close_flow` closes what `connect` opened, and nothing else: a UDP flow's socket is
    /// released (its port can be bound again), a TCP flow's peer reads the end of the stream;
    /// the bound socket and an accepted connection stay.
    #[test]
    fn close_flow_closes_connected_flows_only() {
        runtime().unwrap().block_on(async {
            let mut driver =
                Driver::new(DriverConfig::default(), EndpointConfig::default()).unwrap();
            let bound = driver
                .bind(Listen::Udp("127.0.0.1:0".parse().unwrap()))
                .await
                .unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let upstream = listener.local_addr().unwrap();
            let udp_flow = driver.connect(Listen::Udp(upstream)).await.unwrap();
            let tcp_flow = driver.connect(Listen::Tcp(upstream)).await.unwrap();
            let (mut accepted, _) = listener.accept().await.unwrap();
            let flow_port = driver.local_addr(udp_flow).unwrap().port();
            assert_eq!(driver.udp_count(), 2);

            // The bound socket and an accepted connection are not flows.
            let server = Remote::Udp {
                socket: 0,
                addr: bound,
            };
            assert!(!driver.close_flow(server));
            let tcp_bound = driver
                .bind(Listen::Tcp("127.0.0.1:0".parse().unwrap()))
                .await
                .unwrap();
            let _client = tokio::net::TcpStream::connect(tcp_bound).await.unwrap();
            let from = accept_one(&mut driver).await;
            let inbound = *driver.connections.keys().max().unwrap();
            assert!(!driver.close_flow(Remote::Tcp {
                connection: inbound,
                addr: from,
            }));
            assert_eq!((driver.udp_count(), driver.connection_count()), (2, 2));

            assert!(driver.close_flow(udp_flow));
            assert!(driver.close_flow(tcp_flow));
            assert!(!driver.close_flow(udp_flow), "closed once");
            assert_eq!((driver.udp_count(), driver.connection_count()), (1, 1));
            // The TCP flow's peer reads the end of the stream.
            let mut buf = [0u8; 64];
            let eof = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                loop {
                    match tokio::io::AsyncReadExt::read(&mut accepted, &mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            })
            .await;
            assert!(eof.is_ok(), "the TCP flow was not closed");
            // The UDP flow's port is free once its reader task is gone.
            let mut rebound = None;
            for _ in 0..1000 {
                tokio::task::yield_now().await;
                if let Ok(s) = std::net::UdpSocket::bind(("127.0.0.1", flow_port)) {
                    rebound = Some(s);
                    break;
                }
            }
            assert!(rebound.is_some(), "the UDP flow's socket is still open");
        });
    }

    /// A TCP peer that never reads: once its writer's queue is full, the driver closes that
    /// connection instead of waiting (which would stall every other peer).
    #[test]
    fn a_peer_that_does_not_read_is_disconnected_without_blocking_the_driver() {
        runtime().unwrap().block_on(async {
            let config = DriverConfig {
                writer_queue: 2,
                ..DriverConfig::default()
            };
            let mut driver = Driver::new(config, EndpointConfig::default()).unwrap();
            let addr = driver
                .bind(Listen::Tcp("127.0.0.1:0".parse().unwrap()))
                .await
                .unwrap();
            // Connected and kept, but never read from.
            let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
            let peer = accept_one(&mut driver).await;
            assert_eq!(driver.connection_count(), 1);
            let mut sends = 0;
            while driver.connection_count() == 1 && sends < 64 {
                // 1 MiB a time; letting the writer task run in between, so it really blocks
                // on the full socket rather than just never having started.
                driver.send(Transmit {
                    peer: Remote::Tcp {
                        connection: 0,
                        addr: peer,
                    },
                    datagram: vec![0; 1 << 20],
                    kind: TransmitKind::Stream,
                });
                sends += 1;
                for _ in 0..8 {
                    tokio::task::yield_now().await;
                }
            }
            assert_eq!(driver.connection_count(), 0, "still open after {sends} MiB");
        });
    }
}
