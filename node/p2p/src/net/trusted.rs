//! A behaviour that runs only on the connections of peers this node
//! trusts. AutoNAT v2's client runs so: a server can fake a dial-back (it
//! picks the nonce, and can deliver it through the node's own relay
//! circuit), and the client tests each address once, so one stranger's
//! answer would settle it. Other peers' connections get libp2p's dummy
//! handler in its place, and the behaviour never hears of them.

use std::collections::BTreeSet;
use std::task::{Context, Poll};

use either::Either;
use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

/// `B`, on the trusted peers' connections only.
pub struct TrustedOnly<B> {
    inner: B,
    trusted: BTreeSet<PeerId>,
    /// The connections `B` has a handler on.
    connections: BTreeSet<ConnectionId>,
}

impl<B> TrustedOnly<B> {
    /// Wraps `inner`; it trusts no one yet.
    pub fn new(inner: B) -> Self {
        TrustedOnly {
            inner,
            trusted: BTreeSet::new(),
            connections: BTreeSet::new(),
        }
    }

    /// Trusts `peer` from its next connection on.
    pub fn trust(&mut self, peer: PeerId) {
        self.trusted.insert(peer);
    }

    fn hand<H>(
        &mut self,
        id: ConnectionId,
        h: Result<H, ConnectionDenied>,
    ) -> Result<Either<H, dummy::ConnectionHandler>, ConnectionDenied> {
        let h = h?;
        self.connections.insert(id);
        Ok(Either::Left(h))
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for TrustedOnly<B> {
    type ConnectionHandler = Either<THandler<B>, dummy::ConnectionHandler>;
    type ToSwarm = B::ToSwarm;

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if !self.trusted.contains(&peer) {
            return Ok(Either::Right(dummy::ConnectionHandler));
        }
        let h = self
            .inner
            .handle_established_inbound_connection(id, peer, local, remote);
        self.hand(id, h)
    }

    fn handle_established_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if !self.trusted.contains(&peer) {
            return Ok(Either::Right(dummy::ConnectionHandler));
        }
        let h = self
            .inner
            .handle_established_outbound_connection(id, peer, addr, role, port_use);
        self.hand(id, h)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        let known = match &event {
            FromSwarm::ConnectionEstablished(e) => self.connections.contains(&e.connection_id),
            FromSwarm::ConnectionClosed(e) => self.connections.remove(&e.connection_id),
            FromSwarm::AddressChange(e) => self.connections.contains(&e.connection_id),
            // A connection another behaviour refused after this one's
            // handler was made: it never opened.
            FromSwarm::DialFailure(e) => self.connections.remove(&e.connection_id),
            FromSwarm::ListenFailure(e) => self.connections.remove(&e.connection_id),
            _ => true,
        };
        if known {
            self.inner.on_swarm_event(event);
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            Either::Left(e) => self.inner.on_connection_handler_event(peer, id, e),
            Either::Right(never) => match never {},
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        self.inner.poll(cx).map(|e| e.map_in(Either::Left))
    }
}
