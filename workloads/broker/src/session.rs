//! One device's connection: TLS handshake (bounded in time), identity from the certificate, CONNECT
//! checks, then a packet-by-packet proxy to rumqttd that enforces topic rights, the rate limit and blocks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tracing::{Instrument, debug, field, info, info_span, warn};

use crate::acl::{self, Denied};
use crate::front::Shared;
use crate::identity::{self, Identity};
use crate::mqtt::{self, CodecError, Frame, PacketType, connack_code};
use crate::ratelimit::TokenBucket;

/// Initial capacity of each direction's packet buffer (memory per idle connection: docs/broker.md).
const INITIAL_BUFFER: usize = 512;

/// How a session ended (logged; the refusals are also counted where they happen).
#[derive(Debug)]
enum End {
    ClientClosed,
    BrokerClosed,
    Refused(&'static str),
    Kicked,
    Shutdown,
    Codec(CodecError),
    Io(std::io::Error),
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
        match serve(tcp, &ctx).await {
            End::ClientClosed | End::BrokerClosed | End::Shutdown => debug!("session closed"),
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
async fn read_frame<R: AsyncRead + Unpin>(r: &mut R, buf: &mut BytesMut, max: usize) -> Result<Frame, End> {
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
struct Open<'a>(&'a prometheus_client::metrics::gauge::Gauge);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn serve(tcp: TcpStream, ctx: &Shared) -> End {
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
            return End::Codec(e);
        }
    };
    if let Err((code, reason)) = admit(ctx, &who, &connect) {
        warn!(reason, client_id = %connect.client_id, "CONNECT refused");
        let _ = cw.write_all(&mqtt::connack(false, code)).await;
        let _ = cw.shutdown().await;
        return End::Refused(reason);
    }
    let upstream = match TcpStream::connect(ctx.upstream).await {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "embedded broker unreachable");
            let _ = cw.write_all(&mqtt::connack(false, 3)).await;
            return End::BrokerClosed;
        }
    };
    let _ = upstream.set_nodelay(true);
    let (mut br, mut bw) = upstream.into_split();
    if let Err(e) = bw.write_all(&first.bytes).await {
        return End::Io(e);
    }
    // Wait for rumqttd's CONNACK before anything else, even if the client has gone meanwhile: rumqttd
    // 0.20 leaks its will handler for a client id when it cannot write the CONNACK, and the next CONNECT
    // with that id then panics its server thread (a poisoned mutex: no one can connect any more).
    let mut bbuf = BytesMut::with_capacity(INITIAL_BUFFER);
    let connack = match timeout(ctx.limits.handshake_timeout, read_frame(&mut br, &mut bbuf, usize::MAX)).await {
        Ok(Ok(f)) if f.packet_type() == PacketType::ConnAck => f,
        Ok(Ok(_)) => return End::Codec(CodecError::Unexpected("expected CONNACK from rumqttd")),
        Ok(Err(_)) | Err(_) => {
            warn!("embedded broker did not answer the CONNECT");
            return End::BrokerClosed;
        }
    };
    if let Err(e) = cw.write_all(&connack.bytes).await {
        return End::Io(e);
    }
    if connack.body().get(1) != Some(&connack_code::ACCEPTED) {
        return End::Refused("rumqttd_refused");
    }
    m.connects.inc();
    m.connections.inc();
    let _open = Open(&m.connections);
    info!(clean_session = connect.clean_session, "connected");
    match pump(ctx, &who, (&mut cr, &mut cw), (&mut br, &mut bw), cbuf, bbuf).await {
        Ok(end) | Err(end) => end,
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

type Client<'a, R, W> = (&'a mut R, &'a mut W);

async fn pump<CR, CW, BR, BW>(
    ctx: &Shared,
    who: &Identity,
    (cr, cw): Client<'_, CR, CW>,
    (br, bw): Client<'_, BR, BW>,
    mut cbuf: BytesMut,
    mut bbuf: BytesMut,
) -> Result<End, End>
where
    CR: AsyncRead + Unpin,
    CW: AsyncWrite + Unpin,
    BR: AsyncRead + Unpin,
    BW: AsyncWrite + Unpin,
{
    let m = &ctx.metrics;
    let max = ctx.limits.max_packet_bytes;
    let mut blocks = ctx.blocklist.subscribe();
    let mut shutdown = ctx.shutdown.clone();
    let (mut cwant, mut bwant) = (INITIAL_BUFFER, INITIAL_BUFFER);
    // Bytes already buffered after the CONNECT (a client may pipeline its first packets).
    let mut pending = !cbuf.is_empty();
    loop {
        if pending {
            pending = false;
            let mut forward = Vec::new();
            let end = loop {
                match mqtt::next_frame(&mut cbuf, max) {
                    Ok(Some(frame)) => match from_client(ctx, who, frame, cw).await {
                        Ok(f) => forward.extend(f),
                        Err(end) => break Some(end),
                    },
                    Ok(None) => break None,
                    Err(e) => break Some(End::Codec(e)),
                }
            };
            // What came before a refused or malformed packet still goes through, as it would have
            // packet by packet.
            write_batch(bw, &forward).await?;
            if let Some(end) = end {
                return Err(end);
            }
        }
        tokio::select! {
            n = read_more(cr, &mut cbuf, &mut cwant) => {
                if n? == 0 {
                    return Ok(End::ClientClosed);
                }
                pending = true;
            }
            n = read_more(br, &mut bbuf, &mut bwant) => {
                if n? == 0 {
                    return Ok(End::BrokerClosed);
                }
                let mut frames = Vec::new();
                while let Some(frame) = mqtt::next_frame(&mut bbuf, usize::MAX)? {
                    if frame.packet_type() == PacketType::Publish {
                        m.message("out");
                    }
                    frames.push(frame);
                }
                write_batch(cw, &frames).await?;
            }
            Ok(()) = blocks.changed() => {
                if let Identity::Device(d) = who && ctx.blocklist.is_blocked(d) {
                    m.kicked.inc();
                    return Ok(End::Kicked);
                }
            }
            Ok(()) = shutdown.changed() => return Ok(End::Shutdown),
        }
    }
}

/// Largest read the adaptive buffers grow to.
const MAX_READ: usize = 64 * 1024;

/// Reads into `buf` with at least `want` bytes free. `want` doubles (up to [`MAX_READ`]) while reads
/// fill the buffer and halves (down to [`INITIAL_BUFFER`]) when they use less than a quarter of it, and
/// an empty buffer much larger than `want` is given back: a busy stream (the backend's subscription
/// carries the whole fleet) gets large reads and batches, while a booth's buffer returns to a few hundred
/// bytes after a ballot or a burst (memory per idle connection). Cancel-safe like `read_buf` (used in
/// `select!`): nothing buffered is ever dropped.
async fn read_more<R: AsyncRead + Unpin>(r: &mut R, buf: &mut BytesMut, want: &mut usize) -> std::io::Result<usize> {
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

/// Writes packets in one write: through TLS that is one record and one system call for a whole burst
/// instead of one per packet (the backend's subscription, and the PUBACKs it returns, come in bursts).
async fn write_batch<W: AsyncWrite + Unpin>(w: &mut W, frames: &[Frame]) -> std::io::Result<()> {
    match frames {
        [] => Ok(()),
        [one] => w.write_all(&one.bytes).await,
        many => {
            let mut out = Vec::with_capacity(many.iter().map(|f| f.bytes.len()).sum());
            for f in many {
                out.extend_from_slice(&f.bytes);
            }
            w.write_all(&out).await
        }
    }
}

/// One packet from the client: returned to be forwarded, answered by the front (`None`), or the end of
/// the session.
async fn from_client<CW>(ctx: &Shared, who: &Identity, frame: Frame, cw: &mut CW) -> Result<Option<Frame>, End>
where
    CW: AsyncWrite + Unpin,
{
    let m = &ctx.metrics;
    match frame.packet_type() {
        PacketType::Publish => {
            let p = mqtt::parse_publish(&frame)?;
            if let Err(d) = acl::may_publish(&ctx.fleet, who, &p.topic, p.retain) {
                m.authz_failure(d.as_str());
                // MQTT 3.1.1 has no negative PUBACK: closing is the only refusal the client cannot miss.
                warn!(topic = %p.topic, reason = d.as_str(), "publish refused: disconnecting");
                return Err(End::Refused(d.as_str()));
            }
            if let Identity::Device(d) = who {
                throttle(ctx, d).await;
            }
            m.message("in");
        }
        PacketType::Subscribe => {
            let s = mqtt::parse_subscribe(&frame)?;
            let denied: Vec<(&str, Denied)> = s
                .filters
                .iter()
                .filter_map(|(f, _)| acl::may_subscribe(&ctx.fleet, who, f).err().map(|d| (f.as_str(), d)))
                .collect();
            if !denied.is_empty() {
                for (filter, d) in &denied {
                    m.authz_failure(d.as_str());
                    warn!(filter, reason = d.as_str(), "subscription refused");
                }
                // The whole SUBSCRIBE is answered here, never forwarded: one failure code per filter.
                let codes = vec![mqtt::SUBACK_FAILURE; s.filters.len()];
                cw.write_all(&mqtt::suback(s.pkid, &codes)).await?;
                return Ok(None);
            }
        }
        PacketType::Connect => {
            m.authz_failure("second_connect");
            return Err(End::Refused("second_connect"));
        }
        _ => {}
    }
    Ok(Some(frame))
}

/// Holds the device's stream until its token bucket allows one more message.
async fn throttle(ctx: &Shared, device: &str) {
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

    #[tokio::test]
    async fn a_batch_is_written_whole_and_in_order() -> Result<(), Box<dyn std::error::Error>> {
        let mut wire = BytesMut::new();
        for p in [mqtt::pingreq(), mqtt::publish("a/b", 1, Some(7), b"xyz"), mqtt::puback(7)] {
            wire.extend_from_slice(&p);
        }
        let expected = wire.clone();
        let mut frames = Vec::new();
        while let Some(f) = mqtt::next_frame(&mut wire, 1024)? {
            frames.push(f);
        }
        let mut out = Vec::new();
        write_batch(&mut out, &frames).await?;
        assert_eq!(out, expected.to_vec());
        write_batch(&mut out, &[]).await?;
        assert_eq!(out.len(), expected.len());
        Ok(())
    }
}
