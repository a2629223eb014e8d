//! Connections not admitted yet (TLS handshake and CONNECT still to come): at most `per_address` from one
//! source address, at most `budget` in all, and when the budget is full a new connection sheds the oldest.
//!
//! Why oldest-first (docs/broker.md, "Pending handshakes"): an honest booth is admitted within a few round
//! trips, so the oldest pending connections are overwhelmingly the ones that will never finish. Refusing the
//! newest instead would let a budget's worth of silent sockets lock every booth out for a whole handshake
//! timeout; shedding the oldest means an attacker must open a budget's worth of sockets, from more than
//! `budget / per_address` addresses, within one honest handshake to push a booth out.
//!
//! [`Book`] is the pure bookkeeping (generic over what a shed connection is told with); the front keeps one
//! behind a mutex and holds a [`Ticket`] per pending connection.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// Whom the per-address cap counts together: an IPv4 address, or an IPv6 /64 (the smallest block a site
/// is given, so one attacker holds a whole /64; an IPv4-mapped IPv6 address counts as its IPv4 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    V4(u32),
    V6Prefix(u64),
}

impl From<IpAddr> for Source {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(u32::from(v4)),
                None => Self::V6Prefix(prefix64(v6)),
            },
        }
    }
}

fn prefix64(v6: Ipv6Addr) -> u64 {
    let mut upper = [0u8; 8];
    upper.copy_from_slice(&v6.octets()[..8]);
    u64::from_be_bytes(upper)
}

/// Limits on connections not admitted yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLimits {
    /// From one source address (IPv4, or IPv6 /64); beyond it a new connection is closed at once.
    pub per_address: usize,
    /// In all; beyond it a new connection sheds the oldest.
    pub budget: usize,
}

impl Default for PendingLimits {
    fn default() -> Self {
        Self { per_address: 32, budget: 4_096 }
    }
}

/// Why a connection was not taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address already has `per_address` connections pending.
    PerAddress,
}

/// A connection taken in: its id, and the connection shed to make room for it (with its signal), if any.
#[derive(Debug)]
pub struct Admitted<T> {
    pub id: u64,
    pub shed: Option<T>,
}

/// The pending connections, by source and in arrival order.
#[derive(Debug)]
pub struct Book<T> {
    limits: PendingLimits,
    next: u64,
    per_source: HashMap<Source, usize>,
    /// Arrival order is id order.
    entries: BTreeMap<u64, (Source, T)>,
}

impl<T> Book<T> {
    pub fn new(limits: PendingLimits) -> Self {
        Self { limits, next: 0, per_source: HashMap::new(), entries: BTreeMap::new() }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes in a connection from `source`, carrying `signal` (what it is told if it is shed later).
    pub fn admit(&mut self, source: Source, signal: T) -> Result<Admitted<T>, Refusal> {
        if self.per_source.get(&source).copied().unwrap_or(0) >= self.limits.per_address {
            return Err(Refusal::PerAddress);
        }
        let shed = if self.entries.len() >= self.limits.budget.max(1) { self.shed_oldest() } else { None };
        let id = self.next;
        self.next += 1;
        *self.per_source.entry(source).or_insert(0) += 1;
        self.entries.insert(id, (source, signal));
        Ok(Admitted { id, shed })
    }

    /// The connection `id` is no longer pending (admitted, refused, timed out or gone). Nothing happens if
    /// it was shed already.
    pub fn finish(&mut self, id: u64) {
        if let Some((source, _)) = self.entries.remove(&id) {
            self.release(source);
        }
    }

    fn shed_oldest(&mut self) -> Option<T> {
        let (_, (source, signal)) = self.entries.pop_first()?;
        self.release(source);
        Some(signal)
    }

    fn release(&mut self, source: Source) {
        if let Some(n) = self.per_source.get_mut(&source) {
            *n -= 1;
            if *n == 0 {
                self.per_source.remove(&source);
            }
        }
    }
}

/// The front's book: a shed connection is told through a oneshot channel.
pub(crate) struct Pending {
    book: Mutex<Book<oneshot::Sender<()>>>,
    metrics: Arc<Metrics>,
}

/// One pending connection's place in the book, given up when dropped; `shed` fires if the book sheds it.
pub(crate) struct Ticket {
    pending: Arc<Pending>,
    id: u64,
    pub shed: oneshot::Receiver<()>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut book = self.pending.book.lock().unwrap_or_else(|e| e.into_inner());
        book.finish(self.id);
        self.pending.metrics.pending_handshakes.set(gauge(book.len()));
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Pending {
    pub(crate) fn new(limits: PendingLimits, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self { book: Mutex::new(Book::new(limits)), metrics })
    }

    /// Takes in a connection from `ip`, shedding the oldest if the budget is full; `None` if its address
    /// is at its cap (the caller closes the socket). Counted in the metrics either way.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Ticket> {
        let (tx, rx) = oneshot::channel();
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        let admitted = book.admit(Source::from(ip), tx);
        self.metrics.pending_handshakes.set(gauge(book.len()));
        drop(book);
        match admitted {
            Err(Refusal::PerAddress) => {
                self.metrics.handshake_refused("per_address");
                None
            }
            Ok(Admitted { id, shed }) => {
                if let Some(victim) = shed {
                    self.metrics.handshakes_shed.inc();
                    // The victim may have finished meanwhile; then there is no one to tell.
                    let _ = victim.send(());
                }
                Some(Ticket { pending: self.clone(), id, shed: rx })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn v4(last: u8) -> Source {
        Source::from(IpAddr::V4(Ipv4Addr::new(198, 51, 100, last)))
    }

    #[test]
    fn an_address_at_its_cap_is_refused_until_one_of_its_connections_finishes() {
        let mut book = Book::new(PendingLimits { per_address: 2, budget: 100 });
        let a = book.admit(v4(1), "a1").map(|a| a.id);
        assert!(book.admit(v4(1), "a2").is_ok());
        assert_eq!(book.admit(v4(1), "a3").err(), Some(Refusal::PerAddress));
        // Other addresses are not held back by it.
        assert!(book.admit(v4(2), "b1").is_ok());
        book.finish(a.unwrap_or(u64::MAX));
        assert!(book.admit(v4(1), "a3").is_ok());
        assert_eq!(book.len(), 3, "a2, b1 and the new a3");
    }

    #[test]
    fn a_full_budget_sheds_the_oldest_and_frees_its_address() {
        let mut book = Book::new(PendingLimits { per_address: 1, budget: 3 });
        for (i, s) in ["first", "second", "third"].into_iter().enumerate() {
            let admitted = book.admit(v4(u8::try_from(i).unwrap_or(0)), s).map(|a| a.shed);
            assert!(matches!(admitted, Ok(None)), "{admitted:?}");
        }
        let fourth = book.admit(v4(9), "fourth");
        assert!(matches!(fourth, Ok(Admitted { shed: Some("first"), .. })), "{fourth:?}");
        assert_eq!(book.len(), 3);
        // The shed connection's address has room again, and the next to go is the second.
        let again = book.admit(v4(0), "first again");
        assert!(matches!(again, Ok(Admitted { shed: Some("second"), .. })), "{again:?}");
    }

    #[test]
    fn finishing_a_shed_or_unknown_connection_changes_nothing() {
        let mut book = Book::new(PendingLimits { per_address: 1, budget: 1 });
        let first = book.admit(v4(1), ()).map(|a| a.id).unwrap_or(u64::MAX);
        let second = book.admit(v4(2), ()).map(|a| a.id).unwrap_or(u64::MAX);
        book.finish(first);
        book.finish(12_345);
        assert_eq!(book.len(), 1);
        assert_eq!(book.admit(v4(2), ()).err(), Some(Refusal::PerAddress), "the second still counts");
        book.finish(second);
        assert!(book.is_empty());
        assert!(book.per_source.is_empty());
    }

    #[test]
    fn ipv6_counts_per_slash_64_and_mapped_ipv4_as_ipv4() {
        let ip = |s: &str| s.parse::<IpAddr>().map(Source::from).ok();
        assert_eq!(ip("2001:db8:1:2::1"), ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_eq!(ip("::ffff:198.51.100.7"), Some(v4(7)));
    }
}
