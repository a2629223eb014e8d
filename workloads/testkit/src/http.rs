//! One HTTP/1.1 request over a fresh TCP connection (`Connection: close`), blocking ([`Request::send`]) or
//! async ([`Request::send_async`]). The request is written as the bytes a test states, with no client library
//! between the test and the server under test; the answer is read to the end and its head parsed by
//! `httparse`. Tests that send deliberately malformed HTTP write to their own socket.

use std::fmt::Display;
use std::io::{self, Read, Write};
use std::time::Duration;

use serde_json::Value;

/// How long a request waits for its answer unless [`Request::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A request: method, path, headers and body. `Host`, `Connection: close` and `Content-Length` are always
/// sent; `Content-Type: application/json` too when the body is not empty and no header names another.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
}

/// The answer: status code, headers (in order, names as sent) and the body (de-chunked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    /// `Authorization: Bearer <token>`, when a token is given.
    pub fn bearer<'t>(self, token: impl Into<Option<&'t str>>) -> Self {
        match token.into() {
            Some(t) => self.header("Authorization", &format!("Bearer {t}")),
            None => self,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// `value` serialized as the body.
    pub fn json(self, value: &Value) -> Self {
        self.body(value.to_string())
    }

    /// How long to wait for the answer ([`DEFAULT_TIMEOUT`] unless set).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The request head, as written to the socket.
    fn head(&self, host: &str) -> String {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.method,
            self.path,
            self.body.len()
        );
        let typed = self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if !self.body.is_empty() && !typed {
            head.push_str("Content-Type: application/json\r\n");
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head
    }

    /// Sends the request to `addr` (`host:port`) and reads the answer, blocking.
    pub fn send(&self, addr: impl Display) -> io::Result<Response> {
        let addr = addr.to_string();
        let mut s = std::net::TcpStream::connect(&addr)?;
        s.set_read_timeout(Some(self.timeout))?;
        s.write_all(self.head(&addr).as_bytes())?;
        // A server may answer (413) before reading a large body and close: the answer is what counts.
        let _ = s.write_all(&self.body);
        let mut raw = Vec::new();
        let read = s.read_to_end(&mut raw);
        answer(read, &raw)
    }

    /// Sends the request to `addr` (`host:port`) and reads the answer.
    pub async fn send_async(&self, addr: impl Display) -> io::Result<Response> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = addr.to_string();
        let mut s = tokio::net::TcpStream::connect(&addr).await?;
        s.write_all(self.head(&addr).as_bytes()).await?;
        // As in `send`: an early answer is read even when the body could not all be written.
        let _ = s.write_all(&self.body).await;
        let mut raw = Vec::new();
        let read = tokio::time::timeout(self.timeout, s.read_to_end(&mut raw))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("no answer within {:?}", self.timeout)))?;
        answer(read, &raw)
    }
}

/// The answer in `raw`, also when reading ended in an error after it arrived (a server that answers early,
/// 413 before the whole body, may reset the connection as it closes).
fn answer(read: io::Result<usize>, raw: &[u8]) -> io::Result<Response> {
    match read {
        Err(e) if raw.is_empty() => Err(e),
        _ => Response::parse(raw),
    }
}

/// `http://ADDR/PATH` as (`ADDR`, `/PATH`); `None` for any other URL.
pub fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    Some(rest.split_at(rest.find('/')?))
}

fn invalid(what: impl Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl Response {
    /// Parses a whole answer: status line and headers, then the body (de-chunked when chunked). Nothing at
    /// all is `UnexpectedEof` (the server closed before answering); anything else not an answer, `InvalidData`.
    pub fn parse(raw: &[u8]) -> io::Result<Self> {
        if raw.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed before an answer"));
        }
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut head = httparse::Response::new(&mut slots);
        let httparse::Status::Complete(len) = head.parse(raw).map_err(invalid)? else {
            return Err(invalid(format!("incomplete answer: {:?}", String::from_utf8_lossy(raw))));
        };
        let status = head.code.ok_or_else(|| invalid("no status code"))?;
        let headers: Vec<(String, String)> =
            head.headers.iter().map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned())).collect();
        let chunked = headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
        let rest = &raw[len..];
        let body = if chunked { dechunk(rest)? } else { rest.to_vec() };
        Ok(Self { status, headers, body })
    }

    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; `Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A chunked body's data, up to the last chunk (or the end of what arrived).
fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let httparse::Status::Complete((start, size)) = httparse::parse_chunk_size(data).map_err(invalid)? else {
            break;
        };
        let size = usize::try_from(size).map_err(invalid)?;
        if size == 0 {
            break;
        }
        let chunk = data.get(start..start + size).ok_or_else(|| invalid("short chunk"))?;
        out.extend_from_slice(chunk);
        data = data.get(start + size + 2..).unwrap_or_default();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_chunked_answer() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let r = Response::parse(raw).expect("parses");
        assert_eq!((r.status, r.header("x-a"), r.text().as_str()), (200, Some("b"), "abcde"));
    }

    #[test]
    fn writes_type_and_token_only_when_given() {
        let plain = Request::get("/x").head("h:1");
        assert_eq!(plain, "GET /x HTTP/1.1\r\nHost: h:1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        let full = Request::post("/y").bearer("t").body("{}").head("h:1");
        assert!(full.contains("Content-Type: application/json\r\n") && full.contains("Authorization: Bearer t\r\n"));
    }
}
