//! A thin MQTT 3.1.1 client over mutual TLS, for the booth simulator and the tests: it owns no queue and
//! retransmits nothing by itself, so the booth's durable outbox stays the only source of truth for what
//! was delivered.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::mqtt::{self, CodecError, Frame, PacketType};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("MQTT: {0}")]
    Codec(#[from] CodecError),
    #[error("connection closed by the broker")]
    Closed,
    #[error("CONNECT refused with return code {0}")]
    Refused(u8),
    #[error("invalid server name {0:?}")]
    ServerName(String),
}

/// Client TLS configuration: trust the fleet CA, present this device's certificate.
pub use urna_pki::tls::client_config as tls_config;

pub async fn connect_tls(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    server_name: &str,
) -> Result<TlsStream<TcpStream>, ClientError> {
    let name = ServerName::try_from(server_name.to_owned()).map_err(|_| ClientError::ServerName(server_name.into()))?;
    let tcp = TcpStream::connect(addr).await?;
    let _ = tcp.set_nodelay(true);
    Ok(TlsConnector::from(config).connect(name, tcp).await?)
}

pub struct Client<S> {
    stream: S,
    buf: BytesMut,
}

pub struct Options<'a> {
    pub client_id: &'a str,
    pub keep_alive_secs: u16,
    pub clean_session: bool,
    pub will: Option<(&'a str, &'a [u8], u8)>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Sends CONNECT and waits for the CONNACK.
    pub async fn handshake(mut stream: S, opts: &Options<'_>) -> Result<Self, ClientError> {
        let connect = mqtt::connect(opts.client_id, opts.keep_alive_secs, opts.clean_session, opts.will);
        stream.write_all(&connect).await?;
        stream.flush().await?;
        let mut c = Self { stream, buf: BytesMut::with_capacity(4096) };
        let ack = c.read().await?;
        match (ack.packet_type(), ack.body()) {
            (PacketType::ConnAck, [_, 0]) => Ok(c),
            (PacketType::ConnAck, [_, code]) => Err(ClientError::Refused(*code)),
            _ => Err(CodecError::Unexpected("expected CONNACK").into()),
        }
    }

    /// The next packet from the broker. Cancel-safe: bytes read stay buffered for the next call.
    pub async fn read(&mut self) -> Result<Frame, ClientError> {
        loop {
            if let Some(f) = mqtt::next_frame(&mut self.buf, usize::MAX)? {
                return Ok(f);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(ClientError::Closed);
            }
        }
    }

    pub async fn send(&mut self, packet: &[u8]) -> Result<(), ClientError> {
        self.stream.write_all(packet).await?;
        // Over TLS a write can leave encrypted bytes buffered when the socket would block; only a flush
        // (or a later write) sends them.
        self.stream.flush().await?;
        Ok(())
    }

    /// Subscribes and waits for the SUBACK, returning its codes (0x80 per refused filter). Packets that
    /// arrive before it are returned too, in order, so nothing is lost.
    pub async fn subscribe(&mut self, pkid: u16, filters: &[(&str, u8)]) -> Result<(Vec<u8>, Vec<Frame>), ClientError> {
        self.send(&mqtt::subscribe(pkid, filters)).await?;
        let mut before = Vec::new();
        loop {
            let f = self.read().await?;
            if f.packet_type() == PacketType::SubAck && f.body().get(..2) == Some(&pkid.to_be_bytes()[..]) {
                return Ok((f.body()[2..].to_vec(), before));
            }
            before.push(f);
        }
    }

    /// Publishes at QoS 1 and waits for its PUBACK (other packets meanwhile are returned).
    pub async fn publish_acked(&mut self, topic: &str, pkid: u16, payload: &[u8]) -> Result<Vec<Frame>, ClientError> {
        self.send(&mqtt::publish(topic, 1, Some(pkid), payload)).await?;
        let mut before = Vec::new();
        loop {
            let f = self.read().await?;
            if f.packet_type() == PacketType::PubAck && f.body() == pkid.to_be_bytes() {
                return Ok(before);
            }
            before.push(f);
        }
    }

    /// The stream and whatever was read past the last packet returned, to drive the connection by hand.
    pub fn into_parts(self) -> (S, BytesMut) {
        (self.stream, self.buf)
    }

    pub async fn disconnect(mut self) -> Result<(), ClientError> {
        self.stream.write_all(&mqtt::disconnect()).await?;
        self.stream.shutdown().await?;
        Ok(())
    }
}
