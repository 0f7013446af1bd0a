//! `PRXY` and `PFWD` on a client connection (`Server.hs: processProxiedCmd`).
//!
//! Answers that need no network round trip (refused password, unknown session, a relay that is
//! already connected or remembered as failed) are given in the command's group; the others are
//! *forked* ([`ProxyJob`]): they run as tasks of the connection, at most `client_concurrency`
//! at once, and their answers are sent when ready, out of order (`forkProxiedCmd`).

use super::{ProxyAgent, Relay, RelayError};
use crate::client::{ClientHandle, SendJob};
use crate::session::processor::{encode_all, Reply, Session, Transmission, VerifiedCommand};
use crate::stats::{Counter, ProxyStats, ServerStats};
use smp_proto::address::{BasicAuth, SmpServer};
use smp_proto::codec::ShortBytes;
use smp_proto::command::Command;
use smp_proto::error::{BrokerError, ErrorType, ProxyError};
use smp_proto::handshake::TransportError;
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::keys::DhPublicKey;
use smp_proto::response::Response;
use smp_proto::version::{Version, VersionRange};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A proxied command answered later.
pub struct ProxyJob {
    client: Arc<ClientHandle>,
    corr_id: CorrId,
    entity_id: EntityId,
    work: Pin<Box<dyn Future<Output = Response> + Send>>,
}

impl std::fmt::Debug for ProxyJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyJob").finish_non_exhaustive()
    }
}

impl ProxyJob {
    /// Runs the command and sends its answer to the client (with the request's ids).
    pub async fn run(self) {
        let response = self.work.await;
        let transmission: Transmission = (self.corr_id, self.entity_id, response);
        let encoded = encode_all(self.client.params(), &[transmission]);
        // The connection may have closed meanwhile; then there is nobody to answer.
        let _ = self.client.send_jobs().send(SendJob::of(encoded)).await;
    }
}

/// What the proxy makes of a command.
#[derive(Debug)]
pub enum ProxyStep {
    /// Answered now.
    Answer(Transmission),
    /// Answered later.
    Fork(ProxyJob),
    /// Not a proxy command.
    Other(Box<VerifiedCommand>),
}

fn count(stats: &ServerStats, fwds: bool, own: bool, pick: fn(&ProxyStats) -> &Counter) {
    let (all, own_stats) = if fwds {
        (&stats.p_msg_fwds, &stats.p_msg_fwds_own)
    } else {
        (&stats.p_relays, &stats.p_relays_own)
    };
    ServerStats::inc_proxy(all, own_stats, own, pick);
}

fn transport_error(error: TransportError) -> ErrorType {
    ErrorType::Proxy(Box::new(ProxyError::Broker(BrokerError::Transport(error))))
}

impl Session {
    /// PRXY and PFWD; any other command is handed back.
    pub fn proxied_command(&self, verified: VerifiedCommand) -> ProxyStep {
        let VerifiedCommand {
            queue,
            corr_id,
            entity_id,
            command,
        } = verified;
        match command {
            Command::Prxy { server, basic_auth } => {
                self.proxy_relay(corr_id, entity_id, server, basic_auth)
            }
            Command::Pfwd {
                version,
                key,
                encrypted,
            } => self.proxy_forward(corr_id, entity_id, version, key, encrypted),
            command => ProxyStep::Other(Box::new(VerifiedCommand {
                queue,
                corr_id,
                entity_id,
                command,
            })),
        }
    }

    /// `PRXY`: allowed when proxying is on and the password (if the server has one) matches.
    fn proxy_relay(
        &self,
        corr_id: CorrId,
        entity_id: EntityId,
        server: SmpServer,
        basic_auth: Option<BasicAuth>,
    ) -> ProxyStep {
        let settings = &self.state.settings;
        let password_ok = match &settings.create_password {
            None => true,
            Some(password) => basic_auth
                .as_ref()
                .is_some_and(|auth| auth.as_bytes() == password.as_slice()),
        };
        let reply = Reply {
            corr_id: &corr_id,
            entity_id: &entity_id,
        };
        if !(settings.allow_smp_proxy && password_ok) {
            return ProxyStep::Answer(reply.err(ErrorType::Proxy(Box::new(ProxyError::BasicAuth))));
        }
        let agent = Arc::clone(&self.state.proxy);
        let stats = Arc::clone(&self.state.stats);
        if let Some(result) = agent.connected(&server) {
            return ProxyStep::Answer(reply.with(relay_response(&stats, &agent, &server, result)));
        }
        ProxyStep::Fork(ProxyJob {
            client: Arc::clone(&self.client),
            corr_id,
            entity_id,
            work: Box::pin(async move {
                let result = agent.connect(&server).await;
                relay_response(&stats, &agent, &server, result)
            }),
        })
    }

    /// `PFWD`: the relay session by the entity id, then `RFWD` on that connection.
    fn proxy_forward(
        &self,
        corr_id: CorrId,
        entity_id: EntityId,
        version: Version,
        key: DhPublicKey,
        encrypted: Vec<u8>,
    ) -> ProxyStep {
        let stats = Arc::clone(&self.state.stats);
        let reply = Reply {
            corr_id: &corr_id,
            entity_id: &entity_id,
        };
        let Some(Relay { own, client: relay }) = self.state.proxy.session(entity_id.as_bytes())
        else {
            count(&stats, true, false, |p| &p.requests);
            count(&stats, true, false, |p| &p.errors_connect);
            return ProxyStep::Answer(reply.err(ErrorType::Proxy(Box::new(ProxyError::NoSession))));
        };
        count(&stats, true, own, |p| &p.requests);
        if relay.version() < Version::SENDING_PROXY.0 {
            count(&stats, true, own, |p| &p.errors_compat);
            return ProxyStep::Answer(reply.err(transport_error(TransportError::Version)));
        }
        let fwd_corr_id = corr_id.clone();
        ProxyStep::Fork(ProxyJob {
            client: Arc::clone(&self.client),
            corr_id,
            entity_id,
            work: Box::pin(async move {
                match relay
                    .forward_transmission(&fwd_corr_id, version, &key, &encrypted)
                    .await
                {
                    Ok(response) => {
                        count(&stats, true, own, |p| &p.successes);
                        Response::Pres(response)
                    }
                    Err(error) => {
                        // The relay's own `ERR` is a successful forward.
                        if matches!(error, smp_client::ClientError::Server(_)) {
                            count(&stats, true, own, |p| &p.successes);
                        } else {
                            count(&stats, true, own, |p| &p.errors_other);
                        }
                        Response::Err(super::relay_error(&error).error)
                    }
                }
            }),
        })
    }
}

/// The `PRXY` answer for a relay connection or its failure (`proxyServerResponse`): `PKEY` with
/// the relay session id, the common range capped to 8..17 (so clients cannot be told apart by
/// their versions) and the relay's certificate chain and signed key.
fn relay_response(
    stats: &ServerStats,
    agent: &ProxyAgent,
    server: &SmpServer,
    result: Result<Relay, RelayError>,
) -> Response {
    match result {
        Ok(Relay { own, client }) => {
            count(stats, false, own, |p| &p.requests);
            let response = match client
                .version_range()
                .intersect(&VersionRange::PROXIED_RELAY)
            {
                Some(range) if client.version() >= Version::SENDING_PROXY.0 => {
                    match (
                        client.server_cert_key(),
                        ShortBytes::new(client.session_id()),
                    ) {
                        (Some(cert_key), Ok(session_id)) => Response::Pkey {
                            session_id,
                            version_range: range,
                            cert_key: Box::new(cert_key.clone()),
                        },
                        _ => Response::Err(transport_error(TransportError::NoAuth)),
                    }
                }
                _ => Response::Err(transport_error(TransportError::Version)),
            };
            if matches!(response, Response::Pkey { .. }) {
                count(stats, false, own, |p| &p.successes);
            } else {
                count(stats, false, own, |p| &p.errors_compat);
            }
            response
        }
        Err(RelayError { error, temporary }) => {
            let own = agent.is_own_server(server);
            count(stats, false, own, |p| &p.requests);
            if temporary {
                count(stats, false, own, |p| &p.errors_connect);
            } else {
                count(stats, false, own, |p| &p.errors_other);
            }
            Response::Err(error)
        }
    }
}
