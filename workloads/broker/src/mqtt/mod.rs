//! The slice of MQTT 3.1.1 the front needs: framing every packet (to forward it byte for byte and to inject
//! replies only between packets) and reading the fields that carry identity and topic rights (CONNECT,
//! PUBLISH, SUBSCRIBE). Encoders exist for the few packets the front and the booth client write themselves.
//!
//! A small codec of our own rather than a crate: the front must forward the client's original bytes (no
//! re-encoding that could change what rumqttd sees), and the MQTT codec crates either own the socket
//! (rumqttc) or are unmaintained (mqttbytes).

mod encode;
mod frame;
mod packet;
pub mod topic;

pub use encode::{
    connack, connect, disconnect, pingreq, pingresp, puback, pubcomp, publish, pubrec, pubrel, suback, subscribe,
    unsuback, unsubscribe,
};
pub use frame::{Frame, next_frame};
pub use packet::{
    Connect, PacketType, Publish, Subscribe, Will, parse_connect, parse_pkid, parse_publish, parse_subscribe,
    parse_unsubscribe,
};

/// CONNACK return codes (MQTT 3.1.1 §3.2.2.3).
pub mod connack_code {
    pub const ACCEPTED: u8 = 0;
    pub const UNACCEPTABLE_PROTOCOL: u8 = 1;
    pub const IDENTIFIER_REJECTED: u8 = 2;
    pub const SERVER_UNAVAILABLE: u8 = 3;
    pub const NOT_AUTHORIZED: u8 = 5;
}

/// SUBACK return code for a refused filter.
pub const SUBACK_FAILURE: u8 = 0x80;

/// Why bytes are not a well-formed MQTT 3.1.1 packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("remaining length is malformed (more than 4 bytes)")]
    MalformedLength,
    #[error("packet of {0} bytes exceeds the limit of {1}")]
    TooLarge(usize, usize),
    #[error("packet is truncated")]
    Truncated,
    #[error("string is not UTF-8")]
    Utf8,
    #[error("unexpected packet: {0}")]
    Unexpected(&'static str),
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
}
