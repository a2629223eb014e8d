//! Splitting a byte stream into whole MQTT packets without copying their contents.

use bytes::{Bytes, BytesMut};

use super::CodecError;
use super::packet::PacketType;

/// One whole packet: its raw bytes (fixed header included) and where the body starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Bytes,
    pub header_len: usize,
}

impl Frame {
    /// The first byte: packet type in the high nibble, flags in the low one.
    pub fn first_byte(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    pub fn packet_type(&self) -> PacketType {
        PacketType::from_byte(self.first_byte())
    }

    pub fn flags(&self) -> u8 {
        self.first_byte() & 0x0f
    }

    /// Variable header and payload.
    pub fn body(&self) -> &[u8] {
        self.bytes.get(self.header_len..).unwrap_or(&[])
    }
}

/// Takes the next whole packet off the front of `buf`, or `None` if more bytes are needed. Packets longer
/// than `max_len` are refused before they are buffered, so a client cannot make the front hold 256 MB.
pub fn next_frame(buf: &mut BytesMut, max_len: usize) -> Result<Option<Frame>, CodecError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let mut remaining: usize = 0;
    let mut shift = 0;
    let mut header_len = 1;
    loop {
        let Some(&b) = buf.get(header_len) else { return Ok(None) };
        header_len += 1;
        remaining |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if header_len > 4 {
            return Err(CodecError::MalformedLength);
        }
    }
    let total = header_len + remaining;
    if total > max_len {
        return Err(CodecError::TooLarge(total, max_len));
    }
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    Ok(Some(Frame { bytes: buf.split_to(total).freeze(), header_len }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_whole_packets_and_splits_back_to_back_ones() -> Result<(), CodecError> {
        let mut buf = BytesMut::from(&[0xc0u8, 0x00, 0x30, 0x05, 0, 1, b'a', b'x'][..]);
        let ping = next_frame(&mut buf, 1024)?.ok_or(CodecError::Truncated)?;
        assert_eq!(ping.packet_type(), PacketType::PingReq);
        assert_eq!(next_frame(&mut buf, 1024)?, None, "publish is missing a byte");
        buf.extend_from_slice(b"y");
        let publish = next_frame(&mut buf, 1024)?.ok_or(CodecError::Truncated)?;
        assert_eq!(publish.body(), &[0, 1, b'a', b'x', b'y']);
        assert!(buf.is_empty());
        Ok(())
    }

    #[test]
    fn refuses_oversized_and_malformed_lengths() {
        let mut big = BytesMut::from(&[0x30u8, 0xff, 0xff, 0x03][..]);
        assert!(matches!(next_frame(&mut big, 1024), Err(CodecError::TooLarge(_, 1024))));
        let mut bad = BytesMut::from(&[0x30u8, 0xff, 0xff, 0xff, 0xff, 0x01][..]);
        assert_eq!(next_frame(&mut bad, usize::MAX), Err(CodecError::MalformedLength));
    }

    #[test]
    fn multi_byte_remaining_length() -> Result<(), CodecError> {
        let mut buf = BytesMut::from(&[0x30u8, 0xc8, 0x01][..]); // 200
        buf.extend_from_slice(&[0u8; 200]);
        let f = next_frame(&mut buf, 1024)?.ok_or(CodecError::Truncated)?;
        assert_eq!((f.header_len, f.body().len()), (3, 200));
        Ok(())
    }
}
