//! Events as the wire carries them: END/DELD by version, NMSG contents (spec §6.9, §6.12).

use super::harness::*;
use crate::session::WireEvents;
use crate::state::EventEncoder;
use crate::subscriptions::HubEvent;
use smp_client::{AuthAlgorithm, AuthKeyPair};
use smp_proto::codec::Decode;
use smp_proto::command::{Command, MsgFlags};
use smp_proto::crypto::{cb_decrypt, CbNonce, X25519KeyPair};
use smp_proto::ids::MsgId;
use smp_proto::response::{NMsgMeta, Response};

#[test]
fn deld_is_end_before_v10() {
    let server = Server::new();
    for (version, expected) in [(9, Response::End), (10, Response::Deld)] {
        let mut conn = server.connect(version);
        let queue = conn.create_queue();
        let bytes = WireEvents.hub_event(&conn.session.client, queue.rid(), HubEvent::Deleted);
        let event = decode(&conn.params, &bytes);
        assert!(event.corr_id.is_empty());
        assert_eq!(&event.entity_id, queue.rid());
        assert_eq!(event.response, Ok(expected), "v{version}");
        let bytes = WireEvents.hub_event(&conn.session.client, queue.rid(), HubEvent::End);
        assert_eq!(decode(&conn.params, &bytes).response, Ok(Response::End));
    }
}

#[test]
fn nmsg_carries_the_encrypted_message_metadata() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    let notifier = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    let ntf_dh = X25519KeyPair::from_secret_bytes([9; 32]);
    let Ok(Response::Nid {
        notifier_id,
        server_ntf_dh_key,
    }) = conn.request(
        queue.rid(),
        Command::Nkey {
            notifier_key: notifier.public_key(),
            recipient_ntf_dh_key: *ntf_dh.public_key(),
        },
        Some(&queue.recipient),
    )
    else {
        panic!("NID expected");
    };
    let flagged = Command::Send {
        flags: MsgFlags { notification: true },
        body: b"ping".to_vec(),
    };
    conn.request(queue.sid(), flagged, None).unwrap();
    let message = conn
        .request(queue.rid(), Command::Get, Some(&queue.recipient))
        .unwrap();
    let Response::Msg { msg_id, .. } = message else {
        panic!()
    };
    let ntf = server.state.notifications.take(&notifier_id).pop().unwrap();
    let bytes = WireEvents.notification(&conn.session.client, &notifier_id, &ntf);
    let event = decode(&conn.params, &bytes);
    assert_eq!(event.entity_id, notifier_id);
    let Ok(Response::Nmsg {
        nonce,
        encrypted_meta,
    }) = event.response
    else {
        panic!("NMSG expected");
    };
    assert_eq!(encrypted_meta.as_bytes().len(), 144);
    let secret = ntf_dh.diffie_hellman(&server_ntf_dh_key);
    let meta = cb_decrypt(&secret, &CbNonce(nonce), encrypted_meta.as_bytes()).unwrap();
    let meta = NMsgMeta::from_bytes(&meta).unwrap();
    assert_eq!(meta.msg_id, msg_id);
    assert_eq!(meta.timestamp.0, NOW);
    assert_ne!(meta.msg_id, MsgId::empty());
}

#[test]
fn blocking_tells_the_subscriber() {
    use smp_proto::error::{BlockingInfo, BlockingReason, ErrorType};
    let server = Server::new();
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    let info = BlockingInfo {
        reason: BlockingReason::Content,
        notice: None,
    };
    assert!(!crate::session::send_blocked_event(
        &server.state,
        queue.rid(),
        info
    ));
    conn.request(queue.rid(), Command::Sub, Some(&queue.recipient))
        .unwrap();
    assert!(crate::session::send_blocked_event(
        &server.state,
        queue.rid(),
        info
    ));
    let pushed = conn.pushed();
    assert_eq!(pushed.len(), 1);
    assert!(pushed[0].corr_id.is_empty());
    assert_eq!(pushed[0].response, Err(ErrorType::Blocked(info)));
}
