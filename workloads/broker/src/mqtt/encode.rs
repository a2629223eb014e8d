//! Encoders for the packets the front writes itself (it answers devices on rumqttd's behalf) and the
//! booth client sends.

/// Fixed header + body; `first` is the packet type and flags byte.
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(first);
    let mut len = body.len();
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        out.push(b);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    // Callers pass topics and ids well under 64 KiB; longer ones are cut, which the broker then refuses.
    let n = s.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&s[..n]);
}

/// CONNECT for MQTT 3.1.1 (level 4) with an optional will (topic, message, QoS).
pub fn connect(client_id: &str, keep_alive: u16, clean: bool, will: Option<(&str, &[u8], u8)>) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, b"MQTT");
    body.push(4);
    let mut flags = if clean { 0x02 } else { 0 };
    if let Some((_, _, qos)) = will {
        flags |= 0x04 | ((qos & 0x03) << 3);
    }
    body.push(flags);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    put_str(&mut body, client_id.as_bytes());
    if let Some((topic, msg, _)) = will {
        put_str(&mut body, topic.as_bytes());
        put_str(&mut body, msg);
    }
    packet(0x10, &body)
}

pub fn connack(session_present: bool, code: u8) -> Vec<u8> {
    packet(0x20, &[u8::from(session_present), code])
}

pub fn publish(topic: &str, qos: u8, pkid: Option<u16>, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(topic.len() + payload.len() + 4);
    put_str(&mut body, topic.as_bytes());
    if let Some(id) = pkid.filter(|_| qos > 0) {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    packet(0x30 | ((qos & 0x03) << 1), &body)
}

pub fn puback(pkid: u16) -> Vec<u8> {
    packet(0x40, &pkid.to_be_bytes())
}

/// PUBREC (QoS 2, first answer to the publisher).
pub fn pubrec(pkid: u16) -> Vec<u8> {
    packet(0x50, &pkid.to_be_bytes())
}

pub fn pubrel(pkid: u16) -> Vec<u8> {
    packet(0x62, &pkid.to_be_bytes())
}

pub fn pubcomp(pkid: u16) -> Vec<u8> {
    packet(0x70, &pkid.to_be_bytes())
}

pub fn unsubscribe(pkid: u16, filters: &[&str]) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    for f in filters {
        put_str(&mut body, f.as_bytes());
    }
    packet(0xa2, &body)
}

pub fn unsuback(pkid: u16) -> Vec<u8> {
    packet(0xb0, &pkid.to_be_bytes())
}

pub fn subscribe(pkid: u16, filters: &[(&str, u8)]) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    for (f, qos) in filters {
        put_str(&mut body, f.as_bytes());
        body.push(*qos);
    }
    packet(0x82, &body)
}

pub fn suback(pkid: u16, codes: &[u8]) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    body.extend_from_slice(codes);
    packet(0x90, &body)
}

pub fn pingreq() -> Vec<u8> {
    packet(0xc0, &[])
}

pub fn pingresp() -> Vec<u8> {
    packet(0xd0, &[])
}

pub fn disconnect() -> Vec<u8> {
    packet(0xe0, &[])
}
