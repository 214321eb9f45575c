//! SIP over TCP and TLS connections (RFC 3261 §18): one task per connection reads the byte
//! stream, cuts it into messages with [`StreamDecoder`] and hands them to the driver's loop,
//! answers keep-alive pings (RFC 5626 §4.4.1), and writes what the actors send on it.
//!
//! A connection is named by its transport, our address as the actor knows it, and the
//! peer's address. The first message an actor sends to a peer opens one; every later
//! message to that peer, and every response, takes it, whichever side opened it. When a
//! connection ends (closed, reset, refused, a failed handshake, a framing error) the loop
//! hears why and tells the actor.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::tls::{client_config, server_name};
use super::{Clock, Input};
use crate::core::sip::{StreamDecoder, StreamItem, Transport};
use crate::roles::TlsClient;
use crate::scenario::io_reason;

/// A connection: its transport, our address (as the actor names it) and the peer's.
pub(super) type FlowKey = (Transport, SocketAddr, SocketAddr);

/// Bounds on setting a connection up: a peer that never answers must not hold a request
/// longer than its transaction would wait anyway.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// RFC 5626 §4.4.1: the server answers a CRLFCRLF ping with one CRLF.
const PONG: &[u8] = b"\r\n";

/// The loop's handle on one connection: its number and where its writes go.
struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Vec<u8>>,
}

/// Every connection of a run, opened or accepted, and the tasks that serve them.
pub(super) struct Flows {
    conns: HashMap<FlowKey, Conn>,
    next_id: u64,
    tasks: JoinSet<()>,
    events: mpsc::Sender<Input>,
    clock: Clock,
    tls: TlsClient,
    /// Built on the first TLS connection, so a UDP run never reads a certificate.
    connector: Option<Result<TlsConnector, String>>,
    /// Connections that failed before a task could report it (a bad TLS setting).
    failed: Vec<(FlowKey, String)>,
}

impl Flows {
    pub(super) fn new(events: mpsc::Sender<Input>, clock: Clock, tls: TlsClient) -> Flows {
        Flows {
            conns: HashMap::new(),
            next_id: 0,
            tasks: JoinSet::new(),
            events,
            clock,
            tls,
            connector: None,
            failed: Vec::new(),
        }
    }

    /// Sends one message on the connection `key` names, opening it if there is none;
    /// true when it opened one.
    pub(super) fn send(&mut self, key: FlowKey, data: Vec<u8>) -> bool {
        let data = match self.conns.get(&key) {
            Some(conn) => match conn.tx.send(data) {
                Ok(()) => return false,
                // Its task has ended; the loop hears why in a moment. Open a new one.
                Err(mpsc::error::SendError(data)) => data,
            },
            None => data,
        };
        let tls = match key.0 {
            Transport::Tls => match self.tls_for(key.2) {
                Ok(tls) => Some(tls),
                Err(reason) => {
                    self.failed.push((key, reason));
                    return false;
                }
            },
            _ => None,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(data);
        self.next_id += 1;
        let id = self.next_id;
        let task = Task {
            key,
            id,
            events: self.events.clone(),
            clock: self.clock,
            client: true,
        };
        self.tasks.spawn(task.connect(tls, tx.clone(), rx));
        self.conns.insert(key, Conn { id, tx });
        true
    }

    /// A connection a listener accepted (and, for TLS, whose handshake succeeded).
    pub(super) fn accepted(&mut self, key: FlowKey, id: u64, tx: mpsc::UnboundedSender<Vec<u8>>) {
        self.conns.insert(key, Conn { id, tx });
    }

    /// Forgets a connection that ended; false when it had been replaced already (the
    /// actor then has nothing to hear: its flow is the newer connection).
    pub(super) fn closed(&mut self, key: FlowKey, id: u64) -> bool {
        if self.conns.get(&key).is_some_and(|c| c.id == id) {
            self.conns.remove(&key);
            return true;
        }
        false
    }

    /// Connections that could not even be tried, and why.
    pub(super) fn take_failed(&mut self) -> Vec<(FlowKey, String)> {
        std::mem::take(&mut self.failed)
    }

    /// How to open TLS to `peer`: the connector, and the name its certificate must bear.
    fn tls_for(
        &mut self,
        peer: SocketAddr,
    ) -> Result<(TlsConnector, rustls::pki_types::ServerName<'static>), String> {
        let options = &self.tls.options;
        let connector = self
            .connector
            .get_or_insert_with(|| {
                client_config(options)
                    .map(TlsConnector::from)
                    .map_err(|e| format!("TLS to {peer} cannot be set up: {e}"))
            })
            .clone()?;
        let host = self
            .tls
            .names
            .iter()
            .find(|(a, _)| *a == peer)
            .map_or_else(|| peer.ip().to_string(), |(_, n)| n.clone());
        let name = server_name(&host)
            .ok_or_else(|| format!("TLS to {peer}: `{host}` is not a host name or address"))?;
        Ok((connector, name))
    }
}

/// Accepts connections on `listener` for as long as the run lasts; each is served by a
/// task of its own. Accepted connections are numbered from `u64::MAX` down, opened ones
/// from 1 up: a number only tells connections of the same key apart.
pub(super) async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
    acceptor: Option<TlsAcceptor>,
    events: mpsc::Sender<Input>,
    clock: Clock,
) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    let mut conns = JoinSet::new();
    let mut id = u64::MAX;
    loop {
        tokio::select! {
            got = listener.accept() => match got {
                Ok((tcp, peer)) => {
                    id -= 1;
                    let task = Task {
                        key: (transport, local, peer),
                        id,
                        events: events.clone(),
                        clock,
                        client: false,
                    };
                    conns.spawn(task.accepted(tcp, acceptor.clone()));
                }
                Err(e) => {
                    // Out of descriptors, most likely: wait a little rather than spin.
                    tracing::warn!("{transport} listener {local}: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// One connection's task.
struct Task {
    key: FlowKey,
    id: u64,
    events: mpsc::Sender<Input>,
    clock: Clock,
    /// We opened it (so a lone CRLF is the answer to our ping).
    client: bool,
}

impl Task {
    fn peer(&self) -> String {
        let (transport, _, peer) = self.key;
        format!("{transport} connection to {peer}")
    }

    /// `127.0.0.2:5060 closed the TCP connection`: the peer named first, as the one who
    /// did it.
    fn closed_by_peer(&self, how: &str) -> String {
        let (transport, _, peer) = self.key;
        let transport = transport.via_token();
        format!("{peer} closed the {transport} connection{how}")
    }

    /// Opens the connection, then serves it; always ends by telling the loop why.
    async fn connect(
        self,
        tls: Option<(TlsConnector, rustls::pki_types::ServerName<'static>)>,
        tx: mpsc::UnboundedSender<Vec<u8>>,
        rx: mpsc::UnboundedReceiver<Vec<u8>>,
    ) {
        let (_, local, peer) = self.key;
        let reason = match open(local, peer).await {
            Err(e) => format!("{}: {}", self.peer(), connect_words(&e)),
            Ok(tcp) => match tls {
                None => self.serve(tcp, tx, rx).await,
                Some((connector, name)) => {
                    let handshake = connector.connect(name, tcp);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                        Ok(Ok(stream)) => self.serve(stream, tx, rx).await,
                        Ok(Err(e)) => format!("TLS handshake with {peer} failed: {e}"),
                        Err(_) => format!("TLS handshake with {peer} timed out"),
                    }
                }
            },
        };
        self.close(reason).await;
    }

    /// Serves an accepted connection, after its TLS handshake when it is TLS. A failed
    /// handshake is logged only: the actor never knew the connection.
    async fn accepted(self, tcp: TcpStream, acceptor: Option<TlsAcceptor>) {
        let _ = tcp.set_nodelay(true);
        let (tx, rx) = mpsc::unbounded_channel();
        let opened = |task: &Task| Input::Accepted {
            key: task.key,
            id: task.id,
            tx: tx.clone(),
        };
        let reason = match acceptor {
            None => {
                if self.events.send(opened(&self)).await.is_err() {
                    return;
                }
                self.serve(tcp, tx.clone(), rx).await
            }
            Some(acceptor) => {
                let peer = self.key.2;
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        if self.events.send(opened(&self)).await.is_err() {
                            return;
                        }
                        self.serve(stream, tx.clone(), rx).await
                    }
                    Ok(Err(e)) => {
                        tracing::warn!("TLS handshake from {peer} failed: {e}");
                        return;
                    }
                    Err(_) => {
                        tracing::warn!("TLS handshake from {peer} timed out");
                        return;
                    }
                }
            }
        };
        self.close(reason).await;
    }

    async fn close(&self, reason: String) {
        tracing::debug!("{} ended: {reason}", self.peer());
        let (key, id) = (self.key, self.id);
        let _ = self.events.send(Input::Closed { key, id, reason }).await;
    }

    /// Reads messages and writes what is queued until either side ends; returns why.
    async fn serve<S: AsyncRead + AsyncWrite>(
        &self,
        stream: S,
        tx: mpsc::UnboundedSender<Vec<u8>>,
        mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    ) -> String {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let writer = async {
            while let Some(data) = rx.recv().await {
                let wrote = match wr.write_all(&data).await {
                    Ok(()) => wr.flush().await,
                    Err(e) => Err(e),
                };
                if let Err(e) = wrote {
                    return format!("{}: cannot send: {}", self.peer(), io_reason(&e));
                }
            }
            format!("{}: closed by us", self.peer())
        };
        tokio::select! {
            why = self.read(&mut rd, &tx) => why,
            why = writer => why,
        }
    }

    async fn read<R: AsyncRead + Unpin>(
        &self,
        rd: &mut R,
        tx: &mpsc::UnboundedSender<Vec<u8>>,
    ) -> String {
        let mut decoder = StreamDecoder::new(self.client);
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match rd.read(&mut buf).await {
                Ok(0) => return self.closed_by_peer(""),
                // TLS without close_notify: closed all the same, nothing was cut short
                // that SIP's own framing would not notice.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return self.closed_by_peer("");
                }
                // The peer closed with data of ours unread, or after we wrote to a socket
                // it had closed: its doing too, whichever of the two its kernel saw first.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return self.closed_by_peer(" (reset)");
                }
                Ok(n) => n,
                Err(e) => return format!("{}: {}", self.peer(), io_reason(&e)),
            };
            // Streams are stamped at the read: there is no kernel stamp per message.
            let received_at = self.clock.now();
            decoder.push(&buf[..n]);
            loop {
                match decoder.next_item() {
                    Ok(Some(StreamItem::Message(data))) => {
                        let key = self.key;
                        let message = Input::Message {
                            key,
                            received_at,
                            data,
                        };
                        if self.events.send(message).await.is_err() {
                            return "the run ended".into();
                        }
                    }
                    Ok(Some(StreamItem::Ping)) => {
                        let _ = tx.send(PONG.to_vec());
                    }
                    Ok(Some(StreamItem::Pong)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        let peer = self.key.2;
                        tracing::warn!("{}: framing error, closed: {e}", self.peer());
                        return format!("{}: framing error in what {peer} sent: {e}", self.peer());
                    }
                }
            }
        }
    }
}

/// A TCP connection from our own SIP address where the system lets us, so the peer sees
/// it come from the address our Via and Contact name; else from another port of ours.
async fn open(local: SocketAddr, peer: SocketAddr) -> io::Result<TcpStream> {
    let bound = connect_from(local, peer).await;
    let stream = match bound {
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AddrInUse | io::ErrorKind::AddrNotAvailable
            ) =>
        {
            connect_from(SocketAddr::new(local.ip(), 0), peer).await?
        }
        other => other?,
    };
    // SIP messages are small and every millisecond of a flip is measured.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

async fn connect_from(local: SocketAddr, peer: SocketAddr) -> io::Result<TcpStream> {
    let socket = match peer {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(local)?;
    match tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(peer)).await {
        Ok(got) => got,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
    }
}

/// Why a connect failed, in the words a tester looks for.
fn connect_words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused (nothing listens there)".into(),
        io::ErrorKind::TimedOut => "no answer to the connection request".into(),
        _ => format!("cannot connect: {}", io_reason(e)),
    }
}

/// The accept loops' TLS side, when there is a certificate for them.
pub(super) fn acceptor(server: &super::TlsServer) -> TlsAcceptor {
    TlsAcceptor::from(Arc::clone(&server.config))
}
