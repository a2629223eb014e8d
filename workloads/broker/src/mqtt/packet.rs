//! Reading the fields of CONNECT, PUBLISH and SUBSCRIBE that decide identity and topic rights.

use super::{CodecError, Frame};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    Connect,
    ConnAck,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    PingReq,
    PingResp,
    Disconnect,
    Reserved,
}

impl PacketType {
    pub fn from_byte(b: u8) -> Self {
        match b >> 4 {
            1 => Self::Connect,
            2 => Self::ConnAck,
            3 => Self::Publish,
            4 => Self::PubAck,
            5 => Self::PubRec,
            6 => Self::PubRel,
            7 => Self::PubComp,
            8 => Self::Subscribe,
            9 => Self::SubAck,
            10 => Self::Unsubscribe,
            11 => Self::UnsubAck,
            12 => Self::PingReq,
            13 => Self::PingResp,
            14 => Self::Disconnect,
            _ => Self::Reserved,
        }
    }
}

/// The last will a client registers at CONNECT: a publish the broker makes on its behalf later, so it is
/// checked against the same topic rights as the client's own publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub message: bytes::Bytes,
    pub qos: u8,
    pub retain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub protocol_level: u8,
    pub clean_session: bool,
    pub keep_alive: u16,
    pub client_id: String,
    pub will: Option<Will>,
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub qos: u8,
    pub retain: bool,
    pub topic: String,
    pub pkid: Option<u16>,
    pub payload: bytes::Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub pkid: u16,
    pub filters: Vec<(String, u8)>,
}

/// A cursor over a packet body.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).ok_or(CodecError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(CodecError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, CodecError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn binary(&mut self) -> Result<&'a [u8], CodecError> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    fn string(&mut self) -> Result<String, CodecError> {
        let b = self.binary()?;
        // MQTT strings must not contain U+0000 (§1.5.3); a NUL could hide a suffix from a topic check.
        let s = std::str::from_utf8(b).map_err(|_| CodecError::Utf8)?;
        if s.contains('\0') {
            return Err(CodecError::Malformed("NUL in string"));
        }
        Ok(s.to_owned())
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

pub fn parse_connect(frame: &Frame) -> Result<Connect, CodecError> {
    if frame.packet_type() != PacketType::Connect {
        return Err(CodecError::Unexpected("expected CONNECT"));
    }
    let mut r = Reader::new(frame.body());
    let name = r.string()?;
    let protocol_level = r.u8()?;
    if name != "MQTT" && name != "MQIsdp" {
        return Err(CodecError::Malformed("protocol name"));
    }
    let flags = r.u8()?;
    if flags & 0x01 != 0 {
        return Err(CodecError::Malformed("reserved connect flag"));
    }
    let keep_alive = r.u16()?;
    let client_id = r.string()?;
    let will = if flags & 0x04 != 0 {
        let topic = r.string()?;
        let message = bytes::Bytes::copy_from_slice(r.binary()?);
        Some(Will { topic, message, qos: (flags >> 3) & 0x03, retain: flags & 0x20 != 0 })
    } else {
        None
    };
    let username = if flags & 0x80 != 0 { Some(r.string()?) } else { None };
    Ok(Connect { protocol_level, clean_session: flags & 0x02 != 0, keep_alive, client_id, will, username })
}

pub fn parse_publish(frame: &Frame) -> Result<Publish, CodecError> {
    if frame.packet_type() != PacketType::Publish {
        return Err(CodecError::Unexpected("expected PUBLISH"));
    }
    let flags = frame.flags();
    let qos = (flags >> 1) & 0x03;
    if qos == 3 {
        return Err(CodecError::Malformed("QoS 3"));
    }
    let mut r = Reader::new(frame.body());
    let topic = r.string()?;
    let pkid = if qos > 0 { Some(r.u16()?) } else { None };
    let payload = bytes::Bytes::copy_from_slice(r.rest());
    Ok(Publish { qos, retain: flags & 0x01 != 0, topic, pkid, payload })
}

pub fn parse_subscribe(frame: &Frame) -> Result<Subscribe, CodecError> {
    if frame.packet_type() != PacketType::Subscribe {
        return Err(CodecError::Unexpected("expected SUBSCRIBE"));
    }
    let mut r = Reader::new(frame.body());
    let pkid = r.u16()?;
    let mut filters = Vec::new();
    while !r.is_empty() {
        let f = r.string()?;
        let qos = r.u8()?;
        filters.push((f, qos & 0x03));
    }
    if filters.is_empty() {
        return Err(CodecError::Malformed("SUBSCRIBE without filters"));
    }
    Ok(Subscribe { pkid, filters })
}

/// The filters of an UNSUBSCRIBE, with its packet id.
pub fn parse_unsubscribe(frame: &Frame) -> Result<(u16, Vec<String>), CodecError> {
    if frame.packet_type() != PacketType::Unsubscribe {
        return Err(CodecError::Unexpected("expected UNSUBSCRIBE"));
    }
    let mut r = Reader::new(frame.body());
    let pkid = r.u16()?;
    let mut filters = Vec::new();
    while !r.is_empty() {
        filters.push(r.string()?);
    }
    Ok((pkid, filters))
}

/// The packet id that is the whole body of PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK.
pub fn parse_pkid(frame: &Frame) -> Result<u16, CodecError> {
    Reader::new(frame.body()).u16()
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::super::{encode, next_frame};
    use super::*;

    fn frame(bytes: Vec<u8>) -> Result<Frame, CodecError> {
        let mut buf = BytesMut::from(&bytes[..]);
        next_frame(&mut buf, 1 << 20)?.ok_or(CodecError::Truncated)
    }

    #[test]
    fn connect_round_trip_with_will_and_username() -> Result<(), CodecError> {
        let bytes = encode::connect("mesa-1-1", 30, true, Some(("urna/f/booth/mesa-1-1/state", b"gone", 1)));
        let c = parse_connect(&frame(bytes)?)?;
        assert_eq!(c.client_id, "mesa-1-1");
        assert_eq!(c.protocol_level, 4);
        assert!(c.clean_session);
        assert_eq!(
            c.will,
            Some(Will { topic: "urna/f/booth/mesa-1-1/state".into(), message: "gone".into(), qos: 1, retain: false })
        );
        Ok(())
    }

    #[test]
    fn publish_and_subscribe_round_trip() -> Result<(), CodecError> {
        let p = parse_publish(&frame(encode::publish("a/b", 1, Some(7), b"hi"))?)?;
        assert_eq!((p.topic.as_str(), p.qos, p.pkid, &p.payload[..]), ("a/b", 1, Some(7), &b"hi"[..]));
        let s = parse_subscribe(&frame(encode::subscribe(9, &[("x/#", 1), ("y", 0)]))?)?;
        assert_eq!(s.pkid, 9);
        assert_eq!(s.filters, vec![("x/#".to_string(), 1), ("y".to_string(), 0)]);
        let (pkid, filters) = parse_unsubscribe(&frame(encode::unsubscribe(4, &["x/#", "y"]))?)?;
        assert_eq!((pkid, filters), (4, vec!["x/#".to_string(), "y".to_string()]));
        assert_eq!(parse_pkid(&frame(encode::pubrel(513))?)?, 513);
        Ok(())
    }

    #[test]
    fn refuses_nul_in_topic_and_truncated_bodies() -> Result<(), CodecError> {
        assert_eq!(
            parse_publish(&frame(encode::publish("a\0b", 0, None, b""))?),
            Err(CodecError::Malformed("NUL in string"))
        );
        // A PUBLISH whose topic length points past the packet.
        assert_eq!(parse_publish(&frame(vec![0x30, 0x02, 0x00, 0x09])?), Err(CodecError::Truncated));
        Ok(())
    }
}
