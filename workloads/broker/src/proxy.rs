//! A backend's session (the ballot bridge, the fleet monitor): proxied packet by packet to a rumqttd
//! connection of its own, because backends need rumqttd's shared subscriptions and its QoS 1 delivery
//! window. The front still checks every PUBLISH and SUBSCRIBE against the backend's rights. Backends are a
//! handful per fleet, so their rumqttd connection costs nothing that matters (devices: `device.rs`).

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tracing::{info, warn};

use crate::acl::{self, Denied};
use crate::front::Shared;
use crate::identity::Identity;
use crate::mqtt::{self, CodecError, Frame, PacketType, connack_code};
use crate::packet_io::{INITIAL_BUFFER, read_frame, read_more, send, write_batch};
use crate::session::{End, Open};

/// Opens the backend's own rumqttd connection with its CONNECT (`first`) and proxies until either side ends.
pub(crate) async fn serve<CR, CW>(
    ctx: &Shared,
    who: &Identity,
    first: Frame,
    (mut cr, mut cw): (CR, CW),
    cbuf: BytesMut,
) -> End
where
    CR: AsyncRead + Unpin,
    CW: AsyncWrite + Unpin,
{
    let m = &ctx.metrics;
    let upstream = match TcpStream::connect(ctx.upstream).await {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "embedded broker unreachable");
            let _ = send(&mut cw, &mqtt::connack(false, connack_code::SERVER_UNAVAILABLE)).await;
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
    if let Err(e) = send(&mut cw, &connack.bytes).await {
        return End::Io(e);
    }
    if connack.body().get(1) != Some(&connack_code::ACCEPTED) {
        return End::Refused("rumqttd_refused");
    }
    m.connects.inc();
    m.connections.inc();
    let _open = Open(&m.connections);
    info!("connected");
    match pump(ctx, who, (&mut cr, &mut cw), (&mut br, &mut bw), cbuf, bbuf).await {
        Ok(end) | Err(end) => end,
    }
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
                send(cw, &mqtt::suback(s.pkid, &codes)).await?;
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
