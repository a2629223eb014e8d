//! The MQTT broker's `GET /v1/status` (`urna broker`, on its status port).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatus {
    pub fleet: String,
    /// Sessions open now on this replica (devices served by the front, backends proxied to rumqttd).
    pub connections: u64,
    /// CONNECTs accepted since start.
    pub connects: u64,
    pub handshake_timeouts: u64,
    pub pending_handshakes: u64,
    pub handshakes_shed: u64,
    /// Devices on the blocklist, refused at CONNECT.
    pub blocked: Vec<String>,
}
