//! One client connection up to its admitted CONNECT: TLS handshake (bounded in time), identity from the
//! certificate, CONNECT checks; then a device is served by the front itself (`device.rs`) and a backend
//! is proxied to rumqttd (`proxy.rs`). Also the pieces both share: buffers, the rate limit, how a session ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tracing::{Instrument, debug, field, info, info_span, warn};

use crate::acl;
use crate::front::Shared;
use crate::identity::{self, Identity};
use crate::mqtt::{self, CodecError, Frame, connack_code};
use crate::ratelimit::TokenBucket;

/// Initial capacity of each direction's packet buffer (memory per idle connection: docs/broker.md).
pub(crate) const INITIAL_BUFFER: usize = 512;

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

pub(crate) async fn run(tcp: TcpStream, peer: SocketAddr, ctx: Arc<Shared>) {
    let span = info_span!("session", %peer, id = field::Empty);
    async move {
        match serve(tcp, peer, &ctx).await {
            End::ClientClosed | End::Disconnected | End::BrokerClosed | End::Shutdown => debug!("session closed"),
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

/// Reads until one whole packet is buffered.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(r: &mut R, buf: &mut BytesMut, max: usize) -> Result<Frame, End> {
    loop {
        if let Some(f) = mqtt::next_frame(buf, max)? {
            return Ok(f);
        }
        if r.read_buf(buf).await? == 0 {
            return Err(End::ClientClosed);
        }
    }
}

/// Decrements the open-connections gauge however the session ends.
pub(crate) struct Open<'a>(pub &'a prometheus_client::metrics::gauge::Gauge);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn serve(tcp: TcpStream, peer: SocketAddr, ctx: &Shared) -> End {
    let m = &ctx.metrics;
    let _ = tcp.set_nodelay(true);
    // Each connection is its own task, so a socket that never finishes its handshake costs only itself.
    let tls = match timeout(ctx.limits.handshake_timeout, ctx.acceptor.accept(tcp)).await {
        Err(_) => {
            m.handshake_timeouts.inc();
            return End::Refused("handshake_timeout");
        }
        Ok(Err(e)) => {
            m.authn_failure("tls");
            ctx.hub.report_refusal(None, peer, "tls");
            info!(error = %e, "TLS handshake refused");
            return End::Refused("tls");
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
            return End::Refused("identity");
        }
    };
    tracing::Span::current().record("id", who.name());

    let (mut cr, mut cw) = tokio::io::split(tls);
    // Small to start: most connections idle with a packet of a few dozen bytes at a time, and a buffer
    // grows to the packet being read (next_frame reserves it) when a ballot arrives.
    let mut cbuf = BytesMut::with_capacity(INITIAL_BUFFER);
    let max = ctx.limits.max_packet_bytes;
    let first = match timeout(ctx.limits.handshake_timeout, read_frame(&mut cr, &mut cbuf, max)).await {
        Err(_) => {
            m.handshake_timeouts.inc();
            return End::Refused("connect_timeout");
        }
        Ok(Err(e)) => return e,
        Ok(Ok(f)) => f,
    };
    let connect = match mqtt::parse_connect(&first) {
        Ok(c) => c,
        Err(e) => {
            m.authn_failure("malformed_connect");
            ctx.hub.report_refusal(Some(who.name()), peer, "malformed_connect");
            return End::Codec(e);
        }
    };
    if let Err((code, reason)) = admit(ctx, &who, &connect) {
        warn!(reason, client_id = %connect.client_id, "CONNECT refused");
        ctx.hub.report_refusal(Some(who.name()), peer, reason);
        let _ = send(&mut cw, &mqtt::connack(false, code)).await;
        let _ = cw.shutdown().await;
        return End::Refused(reason);
    }
    match who {
        Identity::Device(_) => crate::device::serve(ctx, &who, connect, cr, cw, cbuf).await,
        Identity::Backend(_) => crate::proxy::serve(ctx, &who, first, (cr, cw), cbuf).await,
    }
}

/// CONNECT checks: MQTT 3.1.1, the client id is the certificate's, not blocked, a will only on own topics.
fn admit(ctx: &Shared, who: &Identity, c: &mqtt::Connect) -> Result<(), (u8, &'static str)> {
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

/// Writes and flushes. The flush matters for TLS: when the socket would block, tokio-rustls keeps the
/// encrypted rest in its own buffer and reports the write done, and only a later write or a flush sends
/// it; a device waiting for its PUBACK would then wait for ever (seen under load in the fleet benchmark).
pub(crate) async fn send<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(bytes).await?;
    w.flush().await
}

/// Largest read the adaptive buffers grow to.
const MAX_READ: usize = 64 * 1024;

/// Reads into `buf` with at least `want` bytes free. `want` doubles (up to [`MAX_READ`]) while reads
/// fill the buffer and halves (down to [`INITIAL_BUFFER`]) when they use less than a quarter of it, and
/// an empty buffer much larger than `want` is given back: a busy stream (the backend's subscription
/// carries the whole fleet) gets large reads and batches, while a booth's buffer returns to a few hundred
/// bytes after a ballot or a burst (memory per idle connection). Cancel-safe like `read_buf` (used in
/// `select!`): nothing buffered is ever dropped.
pub(crate) async fn read_more<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    want: &mut usize,
) -> std::io::Result<usize> {
    if buf.is_empty() && buf.capacity() > 2 * *want {
        *buf = BytesMut::with_capacity(*want);
    }
    if buf.capacity() - buf.len() < *want {
        buf.reserve(*want);
    }
    let free = buf.capacity() - buf.len();
    let n = r.read_buf(buf).await?;
    if n == free {
        *want = (*want * 2).min(MAX_READ);
    } else if n < *want / 4 {
        *want = (*want / 2).max(INITIAL_BUFFER);
    }
    Ok(n)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_buffers_grow_for_a_burst_and_shrink_back_for_small_packets() -> std::io::Result<()> {
        let (mut tx, mut rx) = tokio::io::duplex(1 << 20);
        let mut buf = BytesMut::with_capacity(INITIAL_BUFFER);
        let mut want = INITIAL_BUFFER;
        // A burst: every read fills the buffer, so reads grow to the largest.
        let burst = 512 * 1024;
        tx.write_all(&vec![0u8; burst]).await?;
        let (mut read, mut largest) = (0, 0);
        while read < burst {
            read += read_more(&mut rx, &mut buf, &mut want).await?;
            largest = largest.max(buf.capacity());
            buf.clear();
        }
        assert_eq!(largest, MAX_READ);
        // Small packets again: the reads shrink and the empty buffer is given back.
        for _ in 0..20 {
            tx.write_all(&[1u8; 16]).await?;
            assert_eq!(read_more(&mut rx, &mut buf, &mut want).await?, 16);
            buf.clear();
        }
        assert_eq!(want, INITIAL_BUFFER);
        assert!(buf.capacity() <= 2 * INITIAL_BUFFER, "{}", buf.capacity());
        Ok(())
    }
}
