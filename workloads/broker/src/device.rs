//! A device's MQTT session, served by the front itself once its CONNECT is admitted: the front answers
//! PINGREQ, SUBSCRIBE and UNSUBSCRIBE, passes the device's publishes up to rumqttd through the hub and
//! acknowledges each only once rumqttd has acknowledged it, and delivers the commands the hub routes here
//! to the filters the device subscribed. Sessions are clean: nothing is kept for an absent device (the
//! booth's outbox is the durable copy, docs/broker.md).

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::acl;
use crate::front::Shared;
use crate::hub::{Ack, Attachment, Command, Reply, Up};
use crate::identity::Identity;
use crate::mqtt::{self, CodecError, Connect, Frame, PacketType, connack_code, topic};
use crate::packet_io::{INITIAL_BUFFER, read_more, send};
use crate::session::{End, Open, throttle};

/// Publishes a device may have waiting for rumqttd's acknowledgement; beyond it the front stops reading
/// from the device until answers come back (its share of the uplink, like MQTT 5's receive maximum).
const MAX_INFLIGHT: usize = 32;

/// Serves an admitted device until its session ends. `buffered` holds bytes read after the CONNECT.
pub(crate) async fn serve<R, W>(
    ctx: &Shared,
    who: &Identity,
    connect: Connect,
    cr: R,
    mut cw: W,
    buffered: BytesMut,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let device = who.name();
    let attachment = ctx.hub.attach(device);
    let (session, uplink) = (attachment.session, attachment.uplink.clone());
    let end = match send(&mut cw, &mqtt::connack(false, connack_code::ACCEPTED)).await {
        Err(e) => End::Io(e),
        Ok(()) => {
            let m = &ctx.metrics;
            m.connects.inc();
            m.connections.inc();
            let _open = Open(&m.connections);
            info!(clean_session = connect.clean_session, "connected");
            run(ctx, who, connect.keep_alive, attachment, (cr, cw), buffered).await
        }
    };
    ctx.hub.detach(device, session);
    if end.publishes_will()
        && let Some(will) = connect.will
    {
        let up = Up { topic: will.topic, payload: will.message, qos: will.qos.min(1), ack: None };
        if uplink.send(up).await.is_ok() {
            ctx.metrics.message("in");
        }
    }
    end
}

/// The session's loop: packets from the device, answers from rumqttd, commands from the hub, and whatever
/// ends the session (takeover, block, keep-alive, shutdown, a lost link to rumqttd).
async fn run<R, W>(
    ctx: &Shared,
    who: &Identity,
    keep_alive_secs: u16,
    attachment: Attachment,
    (mut cr, mut cw): (R, W),
    mut cbuf: BytesMut,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let Attachment { mut commands, taken_over, uplink, .. } = attachment;
    let (answers, mut acks) = mpsc::unbounded_channel();
    let mut s = Session {
        ctx,
        who,
        uplink,
        answers,
        inflight: 0,
        subscriptions: Vec::new(),
        awaiting_release: Vec::new(),
        last_pkid: 0,
        out: Vec::new(),
    };
    let keep_alive = (keep_alive_secs > 0).then(|| Duration::from_millis(u64::from(keep_alive_secs) * 1500));
    let mut lost = ctx.hub.lost();
    let mut blocks = ctx.blocklist.subscribe();
    let mut shutdown = ctx.shutdown.clone();
    let mut want = INITIAL_BUFFER;
    let mut pending = !cbuf.is_empty();
    let mut heard = Instant::now();
    loop {
        if pending {
            pending = false;
            heard = Instant::now();
            if let Err(end) = s.take_packets(&mut cbuf, &mut acks).await {
                // Answers owed for what came before still go out.
                let _ = send(&mut cw, &s.out).await;
                return end;
            }
        }
        if !s.out.is_empty() {
            if let Err(e) = send(&mut cw, &s.out).await {
                return End::Io(e);
            }
            s.out.clear();
            s.out.shrink_to(INITIAL_BUFFER);
        }
        let deadline = keep_alive.map(|k| heard + k);
        tokio::select! {
            n = read_more(&mut cr, &mut cbuf, &mut want) => match n {
                Ok(0) => return End::ClientClosed,
                Ok(_) => pending = true,
                Err(e) => return End::Io(e),
            },
            Some(reply) = acks.recv() => {
                s.answer(reply);
                while let Ok(reply) = acks.try_recv() {
                    s.answer(reply);
                }
            }
            Some(command) = commands.recv() => {
                s.deliver(&command);
                while let Ok(command) = commands.try_recv() {
                    s.deliver(&command);
                }
            }
            _ = taken_over.notified() => return End::TakenOver,
            Ok(()) = blocks.changed() => {
                if ctx.blocklist.is_blocked(who.name()) {
                    ctx.metrics.kicked.inc();
                    return End::Kicked;
                }
            }
            Ok(()) = shutdown.changed() => return End::Shutdown,
            Ok(()) = lost.changed() => return End::BrokerClosed,
            () = sleep_until(deadline), if deadline.is_some() => return End::KeepAliveExpired,
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

struct Session<'a> {
    ctx: &'a Shared,
    who: &'a Identity,
    uplink: mpsc::Sender<Up>,
    /// Given to the hub with each acknowledged publish; the answers come back on the session's receiver.
    answers: mpsc::UnboundedSender<Reply>,
    inflight: usize,
    /// Filter and granted QoS (0 or 1).
    subscriptions: Vec<(String, u8)>,
    /// QoS 2 packet ids taken from the device whose PUBREL has not come yet.
    awaiting_release: Vec<u16>,
    last_pkid: u16,
    /// Packets for the device, written together once the current batch is handled.
    out: Vec<u8>,
}

impl Session<'_> {
    async fn take_packets(&mut self, buf: &mut BytesMut, acks: &mut mpsc::UnboundedReceiver<Reply>) -> Result<(), End> {
        while let Some(frame) = mqtt::next_frame(buf, self.ctx.limits.max_packet_bytes)? {
            self.on_packet(frame, acks).await?;
        }
        Ok(())
    }

    async fn on_packet(&mut self, frame: Frame, acks: &mut mpsc::UnboundedReceiver<Reply>) -> Result<(), End> {
        match frame.packet_type() {
            PacketType::Publish => self.publish(&frame, acks).await,
            PacketType::Subscribe => {
                self.subscribe(&frame)?;
                Ok(())
            }
            PacketType::Unsubscribe => {
                let (pkid, filters) = mqtt::parse_unsubscribe(&frame)?;
                self.subscriptions.retain(|(f, _)| !filters.contains(f));
                self.out.extend_from_slice(&mqtt::unsuback(pkid));
                Ok(())
            }
            PacketType::PubRel => {
                let pkid = mqtt::parse_pkid(&frame)?;
                self.awaiting_release.retain(|p| *p != pkid);
                self.out.extend_from_slice(&mqtt::pubcomp(pkid));
                Ok(())
            }
            PacketType::PingReq => {
                self.out.extend_from_slice(&mqtt::pingresp());
                Ok(())
            }
            // Commands go out without redelivery (clean sessions), so their acknowledgements need no record.
            PacketType::PubAck | PacketType::PubRec | PacketType::PubComp => Ok(()),
            PacketType::Disconnect => Err(End::Disconnected),
            PacketType::Connect => {
                self.ctx.metrics.authz_failure("second_connect");
                Err(End::Refused("second_connect"))
            }
            _ => Err(End::Codec(CodecError::Unexpected("packet a client may not send"))),
        }
    }

    async fn publish(&mut self, frame: &Frame, acks: &mut mpsc::UnboundedReceiver<Reply>) -> Result<(), End> {
        let m = &self.ctx.metrics;
        let p = mqtt::parse_publish(frame)?;
        if let Err(d) = acl::may_publish(&self.ctx.fleet, self.who, &p.topic, p.retain) {
            m.authz_failure(d.as_str());
            // MQTT 3.1.1 has no negative PUBACK: closing is the only refusal the client cannot miss.
            warn!(topic = %p.topic, reason = d.as_str(), "publish refused: disconnecting");
            return Err(End::Refused(d.as_str()));
        }
        throttle(self.ctx, self.who.name()).await;
        m.message("in");
        let reply = match (p.qos, p.pkid) {
            (0, _) => None,
            (1, Some(pkid)) => Some(Reply::PubAck(pkid)),
            (2, Some(pkid)) if self.awaiting_release.contains(&pkid) => {
                // A resend of a QoS 2 message already passed on: exactly once means not again.
                self.out.extend_from_slice(&mqtt::pubrec(pkid));
                return Ok(());
            }
            (2, Some(pkid)) => {
                self.awaiting_release.push(pkid);
                Some(Reply::PubRec(pkid))
            }
            _ => return Err(End::Codec(CodecError::Malformed("PUBLISH without a packet id"))),
        };
        if reply.is_some() {
            while self.inflight >= MAX_INFLIGHT {
                match acks.recv().await {
                    Some(r) => self.answer(r),
                    None => return Err(End::BrokerClosed),
                }
            }
            self.inflight += 1;
        }
        let ack = reply.map(|reply| Ack { to: self.answers.clone(), reply });
        let up = Up { topic: p.topic, payload: p.payload, qos: p.qos.min(1), ack };
        self.uplink.send(up).await.map_err(|_| End::Shutdown)
    }

    fn subscribe(&mut self, frame: &Frame) -> Result<(), End> {
        let s = mqtt::parse_subscribe(frame)?;
        let mut refused = false;
        for (filter, _) in &s.filters {
            if let Err(d) = acl::may_subscribe(&self.ctx.fleet, self.who, filter) {
                self.ctx.metrics.authz_failure(d.as_str());
                warn!(filter, reason = d.as_str(), "subscription refused");
                refused = true;
            }
        }
        if refused {
            // One refused filter refuses the whole SUBSCRIBE: a failure code per filter.
            self.out.extend_from_slice(&mqtt::suback(s.pkid, &vec![mqtt::SUBACK_FAILURE; s.filters.len()]));
            return Ok(());
        }
        let mut codes = Vec::with_capacity(s.filters.len());
        for (filter, qos) in s.filters {
            // Commands are delivered at most at QoS 1, so that is the most granted.
            let granted = qos.min(1);
            self.subscriptions.retain(|(f, _)| *f != filter);
            self.subscriptions.push((filter, granted));
            codes.push(granted);
        }
        self.out.extend_from_slice(&mqtt::suback(s.pkid, &codes));
        Ok(())
    }

    fn answer(&mut self, reply: Reply) {
        self.inflight = self.inflight.saturating_sub(1);
        let packet = match reply {
            Reply::PubAck(pkid) => mqtt::puback(pkid),
            Reply::PubRec(pkid) => mqtt::pubrec(pkid),
        };
        self.out.extend_from_slice(&packet);
    }

    fn deliver(&mut self, command: &Command) {
        let granted =
            self.subscriptions.iter().filter(|(f, _)| topic::matches(f, &command.topic)).map(|(_, q)| *q).max();
        let Some(granted) = granted else { return };
        let qos = command.qos.min(granted);
        let pkid = (qos > 0).then(|| {
            self.last_pkid = self.last_pkid.wrapping_add(1).max(1);
            self.last_pkid
        });
        self.out.extend_from_slice(&mqtt::publish(&command.topic, qos, pkid, &command.payload));
        self.ctx.metrics.message("out");
    }
}
