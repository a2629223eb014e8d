//! Moving MQTT packets over a stream, for the sessions (`session.rs`, `device.rs`, `proxy.rs`): reading
//! until a whole packet is buffered, reading more into buffers that grow for a burst and shrink back, and
//! writing a batch of packets in one flushed write. The codec itself is `mqtt/`.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::mqtt::{self, CodecError, Frame};

/// Initial capacity of each direction's packet buffer (memory per idle connection: docs/broker.md).
pub(crate) const INITIAL_BUFFER: usize = 512;

/// Largest read the adaptive buffers grow to.
const MAX_READ: usize = 64 * 1024;

/// Why no whole packet could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The stream ended first.
    Closed,
    Codec(CodecError),
    Io(std::io::Error),
}

/// Reads until one whole packet is buffered.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut BytesMut,
    max: usize,
) -> Result<Frame, ReadError> {
    loop {
        if let Some(f) = mqtt::next_frame(buf, max).map_err(ReadError::Codec)? {
            return Ok(f);
        }
        if r.read_buf(buf).await.map_err(ReadError::Io)? == 0 {
            return Err(ReadError::Closed);
        }
    }
}

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

/// Writes and flushes. The flush matters for TLS: when the socket would block, tokio-rustls keeps the
/// encrypted rest in its own buffer and reports the write done, and only a later write or a flush sends
/// it; a device waiting for its PUBACK would then wait for ever (seen under load in the fleet benchmark).
pub(crate) async fn send<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(bytes).await?;
    w.flush().await
}

/// Writes packets in one write: through TLS that is one record and one system call for a whole burst
/// instead of one per packet (the backend's subscription, and the PUBACKs it returns, come in bursts).
pub(crate) async fn write_batch<W: AsyncWrite + Unpin>(w: &mut W, frames: &[Frame]) -> std::io::Result<()> {
    match frames {
        [] => Ok(()),
        [one] => send(w, &one.bytes).await,
        many => {
            let mut out = Vec::with_capacity(many.iter().map(|f| f.bytes.len()).sum());
            for f in many {
                out.extend_from_slice(&f.bytes);
            }
            send(w, &out).await
        }
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

    #[tokio::test]
    async fn a_packet_split_across_reads_is_read_whole_and_an_early_end_is_closed() -> std::io::Result<()> {
        let (mut tx, mut rx) = tokio::io::duplex(1024);
        let packet = mqtt::publish("a/b", 0, None, b"payload");
        let (head, tail) = packet.split_at(4);
        tx.write_all(head).await?;
        let mut buf = BytesMut::new();
        let reader = tokio::spawn(async move { read_frame(&mut rx, &mut buf, 1024).await.map(|f| f.bytes.to_vec()) });
        tx.write_all(tail).await?;
        let read = reader.await.map_err(std::io::Error::other)?;
        assert!(matches!(&read, Ok(bytes) if *bytes == packet), "{read:?}");

        let (mut tx, mut rx) = tokio::io::duplex(1024);
        tx.write_all(head).await?;
        drop(tx);
        let mut buf = BytesMut::new();
        assert!(matches!(read_frame(&mut rx, &mut buf, 1024).await, Err(ReadError::Closed)));
        Ok(())
    }
}
