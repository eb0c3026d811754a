//! What a transformer built on sessions (engine.io, SockJS) keeps: its
//! sessions, the packet maker of its encoding, the pathname it serves
//! under, its limits, and how it opens a connection with its session.

use super::packet_maker::PacketMaker;
use super::session::{Session, SessionSettings, Sessions};
use crate::wire::Frame;
use bytes::Bytes;
use std::sync::Arc;

/// What a transformer built on sessions keeps: its sessions, the packet
/// maker of its encoding, the pathname it serves under and its limits.
/// Cheap to clone (a transformer's clones share it).
#[derive(Clone)]
pub(super) struct SessionPool {
    sessions: Arc<Sessions>,
    packets: Arc<PacketMaker>,
    pathname: Arc<std::sync::OnceLock<String>>,
    /// Most sessions at once.
    pub(super) max_sessions: usize,
    /// Most sessions at once from one client address.
    pub(super) max_sessions_per_address: usize,
    /// See [`SessionSettings::outgoing_budget`].
    pub(super) outgoing_budget: usize,
}

/// Why [`SessionPool::open`] opened no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OpenRefused {
    /// `max_sessions` are open.
    Full,
    /// `max_sessions_per_address` are open from the client's address.
    AddressFull,
    /// The server is closing (or gone).
    Closing,
    /// A session with this id exists (made by a concurrent request).
    Taken,
}

impl SessionPool {
    /// A pool whose messages become packets with `encode`.
    pub(super) fn new(encode: fn(&Frame) -> Option<Bytes>) -> SessionPool {
        SessionPool {
            sessions: Arc::default(),
            packets: Arc::new(PacketMaker::new(encode)),
            pathname: Arc::default(),
            max_sessions: 65_536,
            max_sessions_per_address: 1_024,
            outgoing_budget: 1024 * 1024,
        }
    }

    /// Learns the server's pathname (from `Transformer::start`).
    pub(super) fn start(&self, connector: &crate::pipeline::Connector) {
        let _ = self.pathname.set(connector.pathname().to_owned());
    }

    /// The pathname the transformer serves under (`/primus` until started).
    pub(super) fn pathname(&self) -> &str {
        self.pathname.get().map_or("/primus", String::as_str)
    }

    /// The session with this id, if it is known.
    pub(super) fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions.get(id)
    }

    /// How many sessions are known (open, or closing and not yet collected).
    pub(super) fn len(&self) -> usize {
        self.sessions.len()
    }

    /// The messages of this pool as packets (a frame shared by many
    /// sessions is wrapped once).
    pub(super) fn packets(&self) -> &Arc<PacketMaker> {
        &self.packets
    }

    /// Opens a connection for the request in `parts` and its session, as
    /// `id` (the client's choice) or, without one, as the spark's id.
    /// Returns the session's id and the session.
    pub(super) fn open(
        &self,
        id: Option<&str>,
        parts: &http::request::Parts,
        address: crate::spark::Address,
        connector: &crate::pipeline::Connector,
        settings: SessionSettings,
    ) -> Result<(String, Arc<Session>), OpenRefused> {
        if self.sessions.len() >= self.max_sessions {
            return Err(OpenRefused::Full);
        }
        // Checked before the connection opens (no spark is made for a
        // refused session); concurrent handshakes from one address may pass
        // the cap by as many as are in flight at once.
        if let Some(ip) = address.ip {
            if self.sessions.held_by(ip) >= self.max_sessions_per_address {
                tracing::debug!(%ip, cap = self.max_sessions_per_address, "session refused: too many from this address");
                return Err(OpenRefused::AddressFull);
            }
        }
        // A client-chosen id (SockJS) is claimed before the connection
        // opens: a concurrent first request for it opens nothing.
        let _claim = match id {
            Some(id) => Some(self.sessions.claim(id).ok_or(OpenRefused::Taken)?),
            None => None,
        };
        let request = crate::pipeline::ConnectionRequest::from_parts(parts, address);
        let connection = connector.open(request).map_err(|error| {
            tracing::debug!(%error, "connection refused");
            OpenRefused::Closing
        })?;
        let id = id.map_or_else(|| connection.spark().id().to_owned(), str::to_owned);
        let session = Session::start(&id, connection, &self.sessions, settings).ok_or(OpenRefused::Taken)?;
        Ok((id, session))
    }
}
