//! One client connection up to its admitted CONNECT: TLS handshake (bounded in time), identity from the
//! certificate, CONNECT checks, a place among the admitted sessions; then a device is served by the front
//! itself (`device.rs`) and a backend is proxied to rumqttd (`proxy.rs`). Also the pieces both share: the
//! rate limit and how a session ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tracing::{Instrument, debug, field, info, info_span, warn};

use crate::acl;
use crate::front::Shared;
use crate::identity::{self, Identity};
use crate::mqtt::{self, CodecError, Frame, connack_code};
use crate::packet_io::{INITIAL_BUFFER, ReadError, read_frame, send};
use crate::pending::Ticket;
use crate::ratelimit::TokenBucket;

/// How a session ended (logged; the refusals are also counted where they happen).
#[derive(Debug)]
pub(crate) enum End {
    /// The connection closed without a DISCONNECT.
    ClientClosed,
    /// The client sent DISCONNECT.
    Disconnected,
    /// rumqttd closed the connection, or the hub lost its link to it.
    BrokerClosed,
    Refused(&'static str),
    /// Closed before admission without an answer: the handshake or CONNECT timed out, or the connection
    /// was shed to make room (pending.rs).
    Abandoned(&'static str),
    /// The device was blocked.
    Kicked,
    /// A newer connection of the same device took over.
    TakenOver,
    /// Nothing heard for one and a half keep-alive periods.
    KeepAliveExpired,
    Shutdown,
    Codec(CodecError),
    Io(std::io::Error),
}

impl End {
    /// Whether the client's last will is published (MQTT 3.1.1 §3.1.2.5: whenever the connection ends
    /// other than by DISCONNECT). Not on takeover: the device is connected again, and a will saying
    /// "offline" after its new session said "online" would be false; nor when the broker itself stops.
    pub(crate) fn publishes_will(&self) -> bool {
        !matches!(self, Self::Disconnected | Self::TakenOver | Self::Shutdown | Self::BrokerClosed)
    }
}

impl From<std::io::Error> for End {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<CodecError> for End {
    fn from(e: CodecError) -> Self {
        Self::Codec(e)
    }
}

impl From<ReadError> for End {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Closed => Self::ClientClosed,
            ReadError::Codec(e) => Self::Codec(e),
            ReadError::Io(e) => Self::Io(e),
        }
    }
}

pub(crate) async fn run(tcp: TcpStream, peer: SocketAddr, ticket: Ticket, ctx: Arc<Shared>) {
    let span = info_span!("session", %peer, id = field::Empty);
    async move {
        match serve(tcp, peer, ticket, &ctx).await {
            End::ClientClosed | End::Disconnected | End::BrokerClosed | End::Shutdown => debug!("session closed"),
            // Under a flood of silent sockets these come by the thousand: the metrics count them.
            End::Abandoned(reason) => debug!(reason, "pending connection closed"),
            End::TakenOver => info!("a newer connection of the device took over"),
            End::KeepAliveExpired => info!("keep-alive expired: session closed"),
            End::Kicked => warn!("device blocked: session closed"),
            End::Refused(reason) => info!(reason, "session refused"),
            End::Codec(e) => info!(error = %e, "malformed MQTT: session closed"),
            End::Io(e) => debug!(error = %e, "session I/O ended"),
        }
    }
    .instrument(span)
    .await
}

/// Decrements the open-connections gauge however the session ends.
pub(crate) struct Open<'a>(pub &'a prometheus_client::metrics::gauge::Gauge);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A connection whose certificate and CONNECT were accepted, ready to be served.
struct Admitted<R, W> {
    who: Identity,
    connect: mqtt::Connect,
    /// The CONNECT's own bytes (a backend's are forwarded to rumqttd as they came).
    first: Frame,
    reader: R,
    writer: W,
    /// Bytes read after the CONNECT.
    buffered: BytesMut,
}

async fn serve(tcp: TcpStream, peer: SocketAddr, mut ticket: Ticket, ctx: &Shared) -> End {
    // Pending until admitted: the connection counts against its address and the pending budget, and
    // gives way if it is the oldest when the budget is full (pending.rs).
    let admitted = tokio::select! {
        a = admit(tcp, peer, ctx) => a,
        Ok(()) = &mut ticket.shed => return End::Abandoned("shed"),
    };
    drop(ticket);
    let Admitted { who, connect, first, reader, mut writer, buffered } = match admitted {
        Ok(a) => a,
        Err(end) => return end,
    };
    // An admitted session takes one of `max_connections` places; pending connections never hold one.
    let Ok(_place) = ctx.sessions.clone().try_acquire_owned() else {
        ctx.metrics.authn_failure("capacity");
        let _ = send(&mut writer, &mqtt::connack(false, connack_code::SERVER_UNAVAILABLE)).await;
        let _ = writer.shutdown().await;
        return End::Refused("capacity");
    };
    match who {
        Identity::Device(_) => crate::device::serve(ctx, &who, connect, reader, writer, buffered).await,
        Identity::Backend(_) => crate::proxy::serve(ctx, &who, first, (reader, writer), buffered).await,
    }
}

/// The TLS handshake, the identity in the certificate and the CONNECT, each step bounded in time (a socket
/// that never finishes costs its task and its pending place, and delays no one).
async fn admit(
    tcp: TcpStream,
    peer: SocketAddr,
    ctx: &Shared,
) -> Result<Admitted<impl AsyncRead + Unpin, impl AsyncWrite + Unpin>, End> {
    let m = &ctx.metrics;
    let _ = tcp.set_nodelay(true);
    let tls = match timeout(ctx.limits.handshake_timeout, ctx.acceptor.accept(tcp)).await {
        Err(_) => {
            m.handshake_timeouts.inc();
            return Err(End::Abandoned("handshake_timeout"));
        }
        Ok(Err(e)) => {
            m.authn_failure("tls");
            ctx.hub.report_refusal(None, peer, "tls");
            info!(error = %e, "TLS handshake refused");
            return Err(End::Refused("tls"));
        }
        Ok(Ok(s)) => s,
    };
    let cert = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec());
    let who = match cert
        .ok_or(identity::IdentityError::NoCertificate)
        .and_then(|der| identity::from_certificate(&der, &ctx.backends))
    {
        Ok(who) => who,
        Err(e) => {
            m.authn_failure("identity");
            ctx.hub.report_refusal(None, peer, "identity");
            info!(error = %e, "no usable identity in the client certificate");
            return Err(End::Refused("identity"));
        }
    };
    tracing::Span::current().record("id", who.name());

    let (mut reader, mut writer) = tokio::io::split(tls);
    // Small to start: most connections idle with a packet of a few dozen bytes at a time, and a buffer
    // grows to the packet being read (next_frame reserves it) when a ballot arrives.
    let mut buffered = BytesMut::with_capacity(INITIAL_BUFFER);
    let max = ctx.limits.max_packet_bytes;
    let first = match timeout(ctx.limits.handshake_timeout, read_frame(&mut reader, &mut buffered, max)).await {
        Err(_) => {
            m.handshake_timeouts.inc();
            return Err(End::Abandoned("connect_timeout"));
        }
        Ok(Err(e)) => return Err(e.into()),
        Ok(Ok(f)) => f,
    };
    let connect = match mqtt::parse_connect(&first) {
        Ok(c) => c,
        Err(e) => {
            m.authn_failure("malformed_connect");
            ctx.hub.report_refusal(Some(who.name()), peer, "malformed_connect");
            return Err(End::Codec(e));
        }
    };
    if let Err((code, reason)) = check_connect(ctx, &who, &connect) {
        warn!(reason, client_id = %connect.client_id, "CONNECT refused");
        ctx.hub.report_refusal(Some(who.name()), peer, reason);
        let _ = send(&mut writer, &mqtt::connack(false, code)).await;
        let _ = writer.shutdown().await;
        return Err(End::Refused(reason));
    }
    Ok(Admitted { who, connect, first, reader, writer, buffered })
}

/// CONNECT checks: MQTT 3.1.1, the client id is the certificate's, not blocked, a will only on own topics.
fn check_connect(ctx: &Shared, who: &Identity, c: &mqtt::Connect) -> Result<(), (u8, &'static str)> {
    let m = &ctx.metrics;
    if c.protocol_level != 4 {
        m.authn_failure("protocol");
        return Err((connack_code::UNACCEPTABLE_PROTOCOL, "protocol"));
    }
    if !who.allows_client_id(&c.client_id) {
        m.authn_failure("client_id");
        return Err((connack_code::IDENTIFIER_REJECTED, "client_id"));
    }
    if let Identity::Device(d) = who
        && ctx.blocklist.is_blocked(d)
    {
        m.authn_failure("blocked");
        return Err((connack_code::NOT_AUTHORIZED, "blocked"));
    }
    if let Some(w) = &c.will
        && let Err(d) = acl::may_publish(&ctx.fleet, who, &w.topic, w.retain)
    {
        m.authz_failure(d.as_str());
        return Err((connack_code::NOT_AUTHORIZED, "will_topic"));
    }
    Ok(())
}

/// Holds the device's stream until its token bucket allows one more message.
pub(crate) async fn throttle(ctx: &Shared, device: &str) {
    loop {
        let wait = {
            let mut buckets = ctx.buckets.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            // Look up before inserting: `entry` would allocate the device id on every message.
            if !buckets.contains_key(device) {
                buckets.insert(device.to_owned(), TokenBucket::new(ctx.limits.rate, now));
            }
            let Some(bucket) = buckets.get_mut(device) else { return };
            match bucket.take(now) {
                Ok(()) => return,
                Err(wait) => wait,
            }
        };
        ctx.metrics.rate_limited.inc();
        tokio::time::sleep(wait).await;
    }
}
