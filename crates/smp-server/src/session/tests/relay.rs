//! RFWD → RRES with both encryption layers and reversed nonces (spec §6.11).

use super::harness::*;
use smp_client::{AuthAlgorithm, AuthKeyPair};
use smp_proto::block::{decode_batch, encode_batch};
use smp_proto::codec::{Decode, Encode};
use smp_proto::command::Command;
use smp_proto::crypto::{
    cb_decrypt, cb_decrypt_no_pad, cb_encrypt, cb_encrypt_no_pad, CbNonce, X25519KeyPair,
};
use smp_proto::error::{CommandError, ErrorType};
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::response::{FwdResponse, FwdTransmission, Response};
use smp_proto::transmission::encode_client;
use smp_proto::version::Version;

/// What the client and the proxy do for one forwarded command; returns the relay's answer to
/// the client, decoded at the forwarded version.
fn forward(
    relay: &mut Conn,
    entity_id: &EntityId,
    command: &Command,
    key: Option<&AuthKeyPair>,
) -> Result<Response, ErrorType> {
    let version = Version(17);
    let inner_params = relay.params.with_version(version);
    let client_corr = CorrId::from([0x33; 24]);
    let relay_key = *relay.session.server_key.public_key();
    let inner = encode_client(
        &inner_params,
        &client_corr,
        entity_id,
        command,
        |authorized| {
            key.map(|key| {
                (
                    key.authorize(authorized, &client_corr, Some(&relay_key))
                        .unwrap(),
                    None,
                )
            })
        },
    );
    let mut content = Vec::new();
    encode_batch(&[inner], &mut content).unwrap();
    let ephemeral = X25519KeyPair::from_secret_bytes([0x44; 32]);
    let s2r = ephemeral.diffie_hellman(&relay_key);
    let client_nonce = CbNonce::from_prefix(client_corr.as_bytes());
    let forwarded = FwdTransmission {
        corr_id: client_corr.clone(),
        version,
        key: *ephemeral.public_key(),
        encrypted: cb_encrypt(&s2r, &client_nonce, &content, 16_226).unwrap(),
    };
    let p2r = relay.client_key.diffie_hellman(&relay_key);
    let proxy_corr = relay.corr_id();
    let proxy_nonce = CbNonce::from_prefix(proxy_corr.as_bytes());
    let rfwd = Command::Rfwd(cb_encrypt_no_pad(&p2r, &proxy_nonce, &forwarded.to_bytes()));
    let transmission = relay.transmission(&proxy_corr, &EntityId::empty(), &rfwd, None);
    let answers = relay.send_batch(&[transmission]);
    let answer = answers.responses[0].response.clone()?;
    let Response::Rres(encrypted) = answer else {
        panic!("RRES expected, got {answer:?}");
    };
    let fwd_response = FwdResponse::from_bytes(
        &cb_decrypt_no_pad(&p2r, &proxy_nonce.reversed(), &encrypted).unwrap(),
    )
    .unwrap();
    assert_eq!(fwd_response.corr_id, client_corr);
    let content = cb_decrypt(&s2r, &client_nonce.reversed(), &fwd_response.encrypted).unwrap();
    let batch = decode_batch(&content).unwrap();
    assert_eq!(batch.len(), 1);
    let response = decode(&inner_params, batch.iter().next().unwrap());
    assert_eq!(response.corr_id, client_corr);
    response.response
}

#[test]
fn forwarded_send_skey_and_refused_commands() {
    let server = Server::new();
    let mut owner = server.connect(18);
    let queue = owner.create_queue_with(
        smp_proto::command::SubscriptionMode::Subscribe,
        Some(smp_proto::command::QueueReqData::Messaging(None)),
        false,
    );
    let mut relay = server.connect(14);
    let sender = AuthKeyPair::generate(AuthAlgorithm::X25519).unwrap();
    assert_eq!(
        forward(
            &mut relay,
            queue.sid(),
            &Command::Skey(sender.public_key()),
            Some(&sender)
        ),
        Ok(Response::Ok)
    );
    assert_eq!(
        forward(&mut relay, queue.sid(), &send(b"via proxy"), Some(&sender)),
        Ok(Response::Ok)
    );
    let pushed = owner.pushed();
    assert_eq!(
        body(&queue.decrypt(pushed[0].response.as_ref().unwrap())),
        b"via proxy"
    );
    assert_eq!(
        forward(&mut relay, queue.sid(), &send(b"unsigned"), None),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        forward(
            &mut relay,
            queue.rid(),
            &Command::Sub,
            Some(&queue.recipient)
        ),
        Err(ErrorType::Cmd(CommandError::Prohibited))
    );
}

#[test]
fn rfwd_that_does_not_decrypt_is_crypto_error() {
    let server = Server::new();
    let mut relay = server.connect(14);
    assert_eq!(
        relay.request(&EntityId::empty(), Command::Rfwd(vec![0; 100]), None),
        Err(ErrorType::Crypto)
    );
}

#[test]
fn forwarded_lget_and_ed25519_send_at_v17() {
    use smp_proto::command::{QueueLinkData, QueueReqData, SubscriptionMode};
    let server = Server::new();
    let mut owner = server.connect(18);
    let contact = owner.create_queue_with(
        SubscriptionMode::OnlyCreate,
        Some(QueueReqData::Contact(None)),
        false,
    );
    let data = QueueLinkData {
        fixed: b"fixed".to_vec(),
        user: b"user".to_vec(),
    };
    let link_id = EntityId::from([0x55; 24]);
    owner
        .request(
            contact.rid(),
            Command::Lset {
                link_id: link_id.clone(),
                link_data: data.clone(),
            },
            Some(&contact.recipient),
        )
        .unwrap();
    let mut relay = server.connect(17);
    assert_eq!(
        forward(&mut relay, &link_id, &Command::Lget, None),
        Ok(Response::Lnk {
            sender_id: contact.sid().clone(),
            link_data: data
        })
    );
    // a contact queue is never secured by the sender; signed SEND with a recipient-set key
    let sender = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    owner
        .request(
            contact.rid(),
            Command::Key(sender.public_key()),
            Some(&contact.recipient),
        )
        .unwrap();
    assert_eq!(
        forward(&mut relay, contact.sid(), &send(b"hello"), Some(&sender)),
        Ok(Response::Ok)
    );
    // the size limit is the forwarded version's
    assert_eq!(
        forward(
            &mut relay,
            contact.sid(),
            &send(&[0; 16_049]),
            Some(&sender)
        ),
        Err(ErrorType::LargeMsg)
    );
}
