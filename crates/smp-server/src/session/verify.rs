//! Verification of a parsed transmission before processing (`Server.hs: verifyTransmission`,
//! `verifyLoadedQueue`, `verifyQueueTransmission`; spec §5.6, §5.9): the queue is looked up in
//! the id map of the command's party, the service-signature rules are applied, and the
//! authorization is checked against the right key — with a dummy key of the presented kind
//! whenever there is no real key to check, so failures take the same time.
//!
//! This server refuses service handshakes, so every session is a non-service session: the
//! service signature must be absent, and SUBS/NSUBS always fail with `ERR SERVICE`.

use crate::auth::{Authorization, Signed, Verifier};
use crate::store::{QueueParty, QueueRecord, Store};
use smp_proto::command::{Command, Party, QueueMode};
use smp_proto::crypto::{cb_verify, Authenticator, CbNonce, Signature, X25519KeyPair};
use smp_proto::error::ErrorType;
use smp_proto::keys::{AuthKey, DhPublicKey};
use smp_proto::transmission::{SignedCommand, TransmissionAuth};

/// Signature and authenticator checks with this connection's server session key.
pub struct SessionVerifier<'a> {
    pub server_key: &'a X25519KeyPair,
}

impl Verifier for SessionVerifier<'_> {
    fn verify_signature(&self, key: &AuthKey, signature: &[u8], data: &[u8]) -> bool {
        Signature::from_bytes(signature).is_ok_and(|signature| signature.verify(key, data))
    }

    fn verify_authenticator(
        &self,
        key: &[u8; 32],
        authenticator: &[u8],
        data: &[u8],
        nonce: &[u8; 24],
    ) -> bool {
        let Ok(authenticator) = <[u8; 80]>::try_from(authenticator) else {
            return false;
        };
        cb_verify(
            &DhPublicKey(*key),
            self.server_key,
            &CbNonce(*nonce),
            &Authenticator(authenticator),
            data,
        )
    }
}

/// The id map a command's entity is looked up in (`Protocol.hs: queueParty`); `None` for parties
/// that do not name a queue.
pub fn lookup_party(party: Party) -> Option<QueueParty> {
    match party {
        Party::Recipient => Some(QueueParty::Recipient),
        Party::Sender => Some(QueueParty::Sender),
        Party::Notifier => Some(QueueParty::Notifier),
        Party::LinkClient => Some(QueueParty::Link),
        _ => None,
    }
}

fn authorization(auth: &Option<TransmissionAuth>) -> Option<Authorization<'_>> {
    auth.as_ref().map(|auth| match auth {
        TransmissionAuth::Ed25519(bytes) => Authorization::Ed25519(bytes),
        TransmissionAuth::Ed448(bytes) => Authorization::Ed448(bytes),
        TransmissionAuth::Authenticator(bytes) => Authorization::Authenticator(bytes),
    })
}

/// Verifies `command`: `Ok(queue)` (the queue record for queue commands) or the error to answer.
pub fn verify_transmission(
    store: &dyn Store,
    verifier: &SessionVerifier<'_>,
    command: &SignedCommand,
) -> Result<Option<QueueRecord>, ErrorType> {
    let signed = Signed {
        authorization: authorization(&command.authorization),
        authorized: &command.authorized,
        nonce: command.corr_id.to_nonce(),
    };
    let queue = match lookup_party(command.command.party()) {
        Some(party) => match store.queue(party, &command.entity_id) {
            Ok(queue) => Some(queue),
            Err(ErrorType::Auth) => {
                // MUST: a missing queue takes as long as a wrong key (dummy verification).
                let _ = signed.dummy_verify(verifier);
                return Err(ErrorType::Auth);
            }
            Err(error) => return Err(error),
        },
        None => None,
    };
    // Non-service session: only NEW/SUB/NSUB may carry the field, and only absent
    // (`verifyServiceSig`).
    if command.service_signature.is_some() {
        return Err(ErrorType::Service);
    }
    let verified = |key: &AuthKey| signed.verify_with(verifier, key);
    let dummy = || {
        let _ = signed.dummy_verify(verifier);
        Err(ErrorType::Auth)
    };
    let ok = |passed: bool| if passed { Ok(()) } else { Err(ErrorType::Auth) };
    let outcome = match (&command.command, queue.as_ref()) {
        (Command::New(request), _) => ok(verified(&request.recipient_key)),
        (Command::Subs | Command::Nsubs, _) => Err(ErrorType::Service),
        (Command::Ping | Command::Prxy { .. } | Command::Pfwd { .. } | Command::Rfwd(_), _) => {
            Ok(())
        }
        (_, None) => Err(ErrorType::Internal),
        (Command::Skey(key) | Command::Lkey(key), Some(queue)) => {
            if allowed_sender_key(key, queue) {
                ok(verified(key))
            } else {
                dummy()
            }
        }
        // SEND is accepted unauthorized until the queue is secured.
        (Command::Send { .. }, Some(queue)) => ok(match &queue.sender_key {
            Some(key) => verified(key),
            None => command.authorization.is_none(),
        }),
        (Command::Lget, Some(queue)) => ok(queue.is_contact()),
        (Command::Nsub, Some(queue)) => match &queue.notifier {
            Some(notifier) => ok(verified(&notifier.notifier_key)),
            None => dummy(),
        },
        (_, Some(queue)) => ok(signed.verify_with_any(verifier, &queue.recipient_keys)),
    };
    outcome.map(|()| queue)
}

/// `verifyQueueTransmission: allowedKey`: only messaging queues, and only the key already set
/// (if any).
fn allowed_sender_key(key: &AuthKey, queue: &QueueRecord) -> bool {
    queue.queue_mode == Some(QueueMode::Messaging)
        && queue
            .sender_key
            .as_ref()
            .is_none_or(|existing| existing == key)
}
