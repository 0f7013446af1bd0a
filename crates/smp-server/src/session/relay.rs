//! The relay side of proxied sending: RFWD → RRES (`Server.hs: processForwardedCommand`, spec
//! §6.11).
//!
//! Two layers: proxy ↔ relay with this connection's session secret and the RFWD correlation id
//! as nonce (no padding), then client ↔ relay with the DH of the client's ephemeral key and the
//! server session key, nonce = the forwarded correlation id (padded to 16 226). The inner block
//! must hold exactly one transmission, parsed and verified at the forwarded version; only SEND,
//! SKEY, LKEY and LGET are allowed. Both answers use the reversed nonces.

use super::processor::{encode_all, Reply, Session, VerifiedCommand};
use super::verify::{verify_transmission, SessionVerifier};
use smp_proto::block::{batch_transmissions, decode_batch};
use smp_proto::codec::{Decode, Encode};
use smp_proto::command::Command;
use smp_proto::crypto::{cb_decrypt, cb_decrypt_no_pad, cb_encrypt, cb_encrypt_no_pad, CbNonce};
use smp_proto::error::{BrokerError, CommandError, ErrorType, ProxyError};
use smp_proto::handshake::TransportError;
use smp_proto::response::{FwdResponse, FwdTransmission, Response};
use smp_proto::transmission::decode_server;

/// Padded size of the client ↔ relay layer (`Protocol.hs: paddedProxiedTLength`).
pub const PADDED_PROXIED_LENGTH: usize = 16_226;

fn no_server_auth() -> ErrorType {
    ErrorType::Proxy(Box::new(ProxyError::Broker(BrokerError::Transport(
        TransportError::NoAuth,
    ))))
}

impl Session {
    /// RFWD: the `RRES` body, or the error to answer.
    pub(super) fn forwarded_command(
        &self,
        reply: &Reply<'_>,
        encrypted: &[u8],
    ) -> Result<Response, ErrorType> {
        let session_secret = self.session_secret.as_ref().ok_or_else(no_server_auth)?;
        let proxy_nonce = CbNonce::from_prefix(reply.corr_id.as_bytes());
        let decrypted = cb_decrypt_no_pad(session_secret, &proxy_nonce, encrypted)
            .map_err(|_| ErrorType::Crypto)?;
        let forwarded = FwdTransmission::from_bytes(&decrypted)
            .map_err(|_| ErrorType::Cmd(CommandError::Syntax))?;
        let client_secret = self.server_key.diffie_hellman(&forwarded.key);
        let client_nonce = CbNonce::from_prefix(forwarded.corr_id.as_bytes());
        let block = cb_decrypt(&client_secret, &client_nonce, &forwarded.encrypted)
            .map_err(|_| ErrorType::Crypto)?;
        let params = self.params().with_version(forwarded.version);
        // Only single forwarded transmissions; a batch that does not parse is one bad
        // transmission (answered inside).
        let transmission = match decode_batch(&block) {
            Ok(batch) if batch.len() == 1 => batch.iter().next(),
            Ok(_) => return Err(ErrorType::Block),
            Err(_) => None,
        };
        let verifier = SessionVerifier {
            server_key: &self.server_key,
        };
        let decoded = match transmission {
            Some(bytes) => decode_server(&params, bytes).map_err(|rejected| {
                (
                    rejected.corr_id,
                    rejected.entity_id,
                    Response::Err(rejected.error),
                )
            }),
            None => Err((
                Default::default(),
                Default::default(),
                Response::Err(ErrorType::Block),
            )),
        };
        let response = decoded.and_then(|signed| {
            let allowed = matches!(
                signed.command,
                Command::Send { .. } | Command::Skey(_) | Command::Lkey(_) | Command::Lget
            );
            if !allowed {
                let error = ErrorType::Cmd(CommandError::Prohibited);
                return Err((signed.corr_id, signed.entity_id, Response::Err(error)));
            }
            match verify_transmission(self.state.store.as_ref(), &verifier, &signed) {
                Ok(queue) => Ok(VerifiedCommand {
                    queue,
                    corr_id: signed.corr_id,
                    entity_id: signed.entity_id,
                    command: signed.command,
                }),
                Err(error) => Err((signed.corr_id, signed.entity_id, Response::Err(error))),
            }
        });
        let transmission = match response {
            Ok(verified) => self.process_command(forwarded.version, verified).0,
            Err(rejected) => rejected,
        };
        let encoded = encode_all(&params, &[transmission]);
        let content = match batch_transmissions(&encoded).into_iter().next() {
            Some(Ok(content)) => content,
            _ => return Err(ErrorType::Block),
        };
        let to_client = cb_encrypt(
            &client_secret,
            &client_nonce.reversed(),
            &content,
            PADDED_PROXIED_LENGTH,
        )
        .map_err(|_| ErrorType::Block)?;
        let fwd_response = FwdResponse {
            corr_id: forwarded.corr_id,
            encrypted: to_client,
        };
        let to_proxy = cb_encrypt_no_pad(
            session_secret,
            &proxy_nonce.reversed(),
            &fwd_response.to_bytes(),
        );
        self.state.stats.counters.p_msg_fwds_recv.inc();
        Ok(Response::Rres(to_proxy))
    }
}
