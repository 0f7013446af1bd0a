//! Decoding errors, verification and queue management commands (spec §5.7–§5.9, §6.2–§6.5,
//! §6.10, §6.14–§6.16), including the version differences.

use super::harness::*;
use crate::state::ServerSettings;
use smp_client::{AuthAlgorithm, AuthKeyPair};
use smp_proto::codec::Writer;
use smp_proto::command::{
    Command, NewQueueRequest, QueueLinkData, QueueMode, QueueReqData, SubscriptionMode,
};
use smp_proto::crypto::{sha3_384, X25519KeyPair};
use smp_proto::error::{CommandError, ErrorType, ProxyError};
use smp_proto::ids::EntityId;
use smp_proto::response::Response;

fn cmd_err(error: CommandError) -> Result<Response, ErrorType> {
    Err(ErrorType::Cmd(error))
}

#[test]
fn ping_and_decoding_errors() {
    let server = Server::new();
    for version in [6, 7, 16, 18] {
        let mut conn = server.connect(version);
        assert_eq!(
            conn.request(&EntityId::empty(), Command::Ping, None),
            Ok(Response::Pong)
        );
        // PING with an entity, unknown tag, syntax error (trailing space)
        let entity = EntityId::from([1; 24]);
        assert_eq!(
            conn.request(&entity, Command::Ping, None),
            cmd_err(CommandError::HasAuth)
        );
        let corr = conn.corr_id();
        let mut raw = conn.transmission(&corr, &entity, &Command::Sub, None);
        raw.extend_from_slice(b" ");
        let mut unknown = conn.transmission(&corr, &entity, &Command::Ping, None);
        unknown.truncate(unknown.len() - 4);
        unknown.extend_from_slice(b"OK");
        let answers = conn.send_batch(&[raw, unknown]);
        let errors: Vec<_> = answers.errors.iter().map(|t| t.response.clone()).collect();
        assert_eq!(
            errors,
            [
                cmd_err(CommandError::Syntax),
                cmd_err(CommandError::Unknown)
            ]
        );
        assert_eq!(answers.errors[0].entity_id, entity);
        // a batch that does not parse: one ERR BLOCK with empty ids
        let answers = conn.send_content(&[0]);
        assert_eq!(answers.errors.len(), 1);
        assert_eq!(answers.errors[0].response, Err(ErrorType::Block));
        assert!(answers.errors[0].corr_id.is_empty());
    }
}

#[test]
fn bad_authorization_length_is_block_with_the_corr_id() {
    let server = Server::new();
    let conn = server.connect(18);
    let mut transmission = Vec::new();
    transmission.put_short(&[1; 10]);
    transmission.put_u8(b'0');
    transmission.put_short(b"corr");
    transmission.put_short(&[5; 24]);
    transmission.put_bytes(b"SUB");
    let answers = conn.send_batch(&[transmission]);
    assert_eq!(answers.errors[0].response, Err(ErrorType::Block));
    assert_eq!(answers.errors[0].corr_id.as_bytes(), b"corr");
    assert!(answers.errors[0].entity_id.is_empty());
}

#[test]
fn v6_session_id_mismatch_is_session_error() {
    let server = Server::new();
    let conn = server.connect(6);
    let mut transmission = Vec::new();
    transmission.put_u8(0);
    transmission.put_short(b"wrong session");
    transmission.put_short(b"c");
    transmission.put_short(b"");
    transmission.put_bytes(b"PING");
    let answers = conn.send_batch(&[transmission]);
    assert_eq!(answers.errors[0].response, Err(ErrorType::Session));
}

#[test]
fn new_queue_forms_by_version() {
    let server = Server::new();
    // v6–v8: no mode; v9–v14: mode as a flag; v15+: mode and link id; v17+: notifier creds
    let mut conn = server.connect(6);
    let queue = conn.create_queue();
    assert_eq!(queue.ids.queue_mode, None);
    let mut conn = server.connect(9);
    let queue = conn.create_queue_with(
        SubscriptionMode::OnlyCreate,
        Some(QueueReqData::Contact(None)),
        false,
    );
    assert_eq!(queue.ids.queue_mode, Some(QueueMode::Contact));
    let mut conn = server.connect(17);
    let queue = conn.create_queue_with(
        SubscriptionMode::OnlyCreate,
        Some(QueueReqData::Messaging(None)),
        true,
    );
    assert_eq!(queue.ids.queue_mode, Some(QueueMode::Messaging));
    let ntf = queue
        .ids
        .server_ntf_creds
        .clone()
        .expect("notifier credentials");
    assert_eq!(ntf.notifier_id.as_bytes().len(), 24);
    assert_eq!(queue.rid().as_bytes().len(), 24);
    assert_ne!(queue.rid(), queue.sid());
}

#[test]
fn new_checks_authorization_password_and_switch() {
    let settings = ServerSettings {
        create_password: Some(b"secret".to_vec()),
        ..ServerSettings::default()
    };
    let server = Server::with(settings, 128);
    let mut conn = server.connect(18);
    let recipient = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    let other = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    let request = |password: Option<&[u8]>| {
        Command::New(Box::new(NewQueueRequest {
            recipient_key: recipient.public_key(),
            recipient_dh_key: *X25519KeyPair::from_secret_bytes([3; 32]).public_key(),
            basic_auth: password.map(|p| smp_proto::address::BasicAuth::new(p).unwrap()),
            subscribe_mode: SubscriptionMode::OnlyCreate,
            queue_data: Some(QueueReqData::Messaging(None)),
            ntf_creds: None,
        }))
    };
    let none = EntityId::empty();
    assert_eq!(
        conn.request(&none, request(None), Some(&recipient)),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(&none, request(Some(b"wrong")), Some(&recipient)),
        Err(ErrorType::Auth)
    );
    // signed with another key than the one in the request
    assert_eq!(
        conn.request(&none, request(Some(b"secret")), Some(&other)),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(&none, request(Some(b"secret")), None),
        cmd_err(CommandError::NoAuth)
    );
    assert!(matches!(
        conn.request(&none, request(Some(b"secret")), Some(&recipient)),
        Ok(Response::Ids(_))
    ));
    let closed = Server::with(
        ServerSettings {
            allow_new_queues: false,
            ..ServerSettings::default()
        },
        128,
    );
    let mut conn = closed.connect(18);
    assert_eq!(
        conn.request(&none, request(None), Some(&recipient)),
        Err(ErrorType::Auth)
    );
}

#[test]
fn client_chosen_sender_id_must_derive_from_corr_id() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let recipient = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    let data = QueueLinkData {
        fixed: b"fixed".to_vec(),
        user: b"user".to_vec(),
    };
    let new = |sender_id: EntityId| {
        Command::New(Box::new(NewQueueRequest {
            recipient_key: recipient.public_key(),
            recipient_dh_key: *X25519KeyPair::from_secret_bytes([3; 32]).public_key(),
            basic_auth: None,
            subscribe_mode: SubscriptionMode::OnlyCreate,
            queue_data: Some(QueueReqData::Contact(Some((
                EntityId::from([9; 24]),
                sender_id,
                data.clone(),
            )))),
            ntf_creds: None,
        }))
    };
    let corr_id = conn.corr_id();
    let transmission = conn.transmission(
        &corr_id,
        &EntityId::empty(),
        &new(EntityId::from([1; 24])),
        Some(&recipient),
    );
    let answers = conn.send_batch(&[transmission]);
    assert_eq!(
        answers.responses[0].response,
        cmd_err(CommandError::Prohibited)
    );
    let corr_id = conn.corr_id();
    let sender_id = EntityId::new(sha3_384(corr_id.as_bytes())[..24].to_vec()).unwrap();
    let transmission = conn.transmission(
        &corr_id,
        &EntityId::empty(),
        &new(sender_id.clone()),
        Some(&recipient),
    );
    let answers = conn.send_batch(std::slice::from_ref(&transmission));
    let Ok(Response::Ids(ids)) = &answers.responses[0].response else {
        panic!("{:?}", answers.responses[0]);
    };
    assert_eq!(ids.sender_id, sender_id);
    assert_eq!(ids.link_id, Some(EntityId::from([9; 24])));
    // the same client-chosen ids again: collision without retry
    let answers = conn.send_batch(&[transmission]);
    assert_eq!(answers.responses[0].response, Err(ErrorType::Auth));
    // the link data is readable with LGET (contact queue), unauthorized
    let mut other = server.connect(18);
    assert_eq!(
        other.request(&EntityId::from([9; 24]), Command::Lget, None),
        Ok(Response::Lnk {
            sender_id,
            link_data: data
        })
    );
}

#[test]
fn wrong_party_and_missing_queue_are_auth() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    // the sender id does not name the queue for recipient commands
    assert_eq!(
        conn.request(queue.sid(), Command::Sub, Some(&queue.recipient)),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(
            &EntityId::from([0; 24]),
            Command::Sub,
            Some(&queue.recipient)
        ),
        Err(ErrorType::Auth)
    );
    // right queue, wrong key (any algorithm)
    for algorithm in [
        AuthAlgorithm::Ed25519,
        AuthAlgorithm::Ed448,
        AuthAlgorithm::X25519,
    ] {
        let key = AuthKeyPair::generate(algorithm).unwrap();
        assert_eq!(
            conn.request(queue.rid(), Command::Sub, Some(&key)),
            Err(ErrorType::Auth)
        );
    }
    assert_eq!(
        conn.request(queue.rid(), Command::Sub, None),
        cmd_err(CommandError::NoAuth)
    );
}

#[test]
fn x25519_and_ed448_recipient_keys_authorize() {
    let server = Server::new();
    for version in [7, 18] {
        let mut conn = server.connect(version);
        for algorithm in [AuthAlgorithm::X25519, AuthAlgorithm::Ed448] {
            let recipient = AuthKeyPair::generate(algorithm).unwrap();
            let request = NewQueueRequest {
                recipient_key: recipient.public_key(),
                recipient_dh_key: *X25519KeyPair::from_secret_bytes([3; 32]).public_key(),
                basic_auth: None,
                subscribe_mode: SubscriptionMode::OnlyCreate,
                queue_data: None,
                ntf_creds: None,
            };
            let Ok(Response::Ids(ids)) = conn.request(
                &EntityId::empty(),
                Command::New(Box::new(request)),
                Some(&recipient),
            ) else {
                panic!("IDS expected");
            };
            assert!(conn
                .request(&ids.recipient_id, Command::Sub, Some(&recipient))
                .is_ok());
        }
    }
}

#[test]
fn service_signature_and_service_commands_are_refused() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    let corr_id = conn.corr_id();
    let transmission = smp_proto::transmission::encode_client(
        &conn.params,
        &corr_id,
        queue.rid(),
        &Command::Sub,
        |authorized| {
            let auth = queue
                .recipient
                .authorize(authorized, &corr_id, None)
                .unwrap();
            Some((auth, Some([0; 64])))
        },
    );
    let answers = conn.send_batch(&[transmission]);
    assert_eq!(answers.errors[0].response, Err(ErrorType::Service));
    let service = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    for command in [Command::Subs, Command::Nsubs] {
        assert_eq!(
            conn.request(&EntityId::from([4; 24]), command, Some(&service)),
            Err(ErrorType::Service)
        );
    }
}

#[test]
fn proxy_commands_without_proxy_role() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let address = smp_proto::address::ServerAddress::parse(&format!(
        "smp://{}@localhost",
        smp_proto::keys::KeyHash([0; 32]).to_text()
    ))
    .unwrap();
    let prxy = Command::Prxy {
        server: address.server,
        basic_auth: None,
    };
    assert_eq!(
        conn.request(&EntityId::empty(), prxy, None),
        Err(ErrorType::Proxy(Box::new(ProxyError::BasicAuth)))
    );
    let pfwd = Command::Pfwd {
        version: smp_proto::version::Version(17),
        key: *X25519KeyPair::from_secret_bytes([1; 32]).public_key(),
        encrypted: vec![1, 2, 3],
    };
    assert_eq!(
        conn.request(&EntityId::from([1; 24]), pfwd, None),
        Err(ErrorType::Proxy(Box::new(ProxyError::NoSession)))
    );
}

#[test]
fn key_skey_lkey_rkey_rules() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let messaging = conn.create_queue();
    let contact = conn.create_queue_with(
        SubscriptionMode::OnlyCreate,
        Some(QueueReqData::Contact(None)),
        false,
    );
    let sender = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    let other = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    // SKEY: messaging queues only, signed with the key itself, idempotent
    let skey = |key: &AuthKeyPair| Command::Skey(key.public_key());
    assert_eq!(
        conn.request(contact.sid(), skey(&sender), Some(&sender)),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(messaging.sid(), skey(&sender), Some(&other)),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(messaging.sid(), skey(&sender), Some(&sender)),
        Ok(Response::Ok)
    );
    assert_eq!(
        conn.request(messaging.sid(), skey(&sender), Some(&sender)),
        Ok(Response::Ok)
    );
    assert_eq!(
        conn.request(messaging.sid(), skey(&other), Some(&other)),
        Err(ErrorType::Auth)
    );
    // KEY (recipient): any mode, a different key later is refused
    let key = |k: &AuthKeyPair| Command::Key(k.public_key());
    assert_eq!(
        conn.request(contact.rid(), key(&sender), Some(&contact.recipient)),
        Ok(Response::Ok)
    );
    assert_eq!(
        conn.request(contact.rid(), key(&other), Some(&contact.recipient)),
        Err(ErrorType::Auth)
    );
    // RKEY: contact queues only; the new keys replace the old ones
    let rkey = Command::Rkey(vec![other.public_key()]);
    assert_eq!(
        conn.request(messaging.rid(), rkey.clone(), Some(&messaging.recipient)),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(contact.rid(), rkey, Some(&contact.recipient)),
        Ok(Response::Ok)
    );
    assert_eq!(
        conn.request(contact.rid(), Command::Sub, Some(&contact.recipient)),
        Err(ErrorType::Auth)
    );
    assert!(conn
        .request(contact.rid(), Command::Sub, Some(&other))
        .is_ok());
}

#[test]
fn link_data_lset_ldel_lkey_lget() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    let data = QueueLinkData {
        fixed: b"fixed".to_vec(),
        user: b"user".to_vec(),
    };
    let link_id = EntityId::from([8; 24]);
    let lset = |data: &QueueLinkData| Command::Lset {
        link_id: link_id.clone(),
        link_data: data.clone(),
    };
    assert_eq!(
        conn.request(queue.rid(), lset(&data), Some(&queue.recipient)),
        Ok(Response::Ok)
    );
    // user data can change, fixed data and link id cannot
    let mut updated = data.clone();
    updated.user = b"user 2".to_vec();
    assert_eq!(
        conn.request(queue.rid(), lset(&updated), Some(&queue.recipient)),
        Ok(Response::Ok)
    );
    let mut fixed_changed = updated.clone();
    fixed_changed.fixed = b"other".to_vec();
    assert_eq!(
        conn.request(queue.rid(), lset(&fixed_changed), Some(&queue.recipient)),
        Err(ErrorType::Auth)
    );
    // LGET only for contact queues
    assert_eq!(
        conn.request(&link_id, Command::Lget, None),
        Err(ErrorType::Auth)
    );
    // LKEY secures and returns the link data
    let sender = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    assert_eq!(
        conn.request(&link_id, Command::Lkey(sender.public_key()), Some(&sender)),
        Ok(Response::Lnk {
            sender_id: queue.sid().clone(),
            link_data: updated.clone()
        })
    );
    // a secured messaging queue cannot get new link data; the first SEND consumes it
    assert_eq!(
        conn.request(queue.rid(), lset(&updated), Some(&queue.recipient)),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(queue.sid(), send(b"hello"), Some(&sender)),
        Ok(Response::Ok)
    );
    assert_eq!(
        conn.request(&link_id, Command::Lkey(sender.public_key()), Some(&sender)),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(queue.rid(), Command::Ldel, Some(&queue.recipient)),
        Ok(Response::Ok)
    );
}

#[test]
fn notifier_nkey_nsub_ndel() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    let notifier = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    let nkey = Command::Nkey {
        notifier_key: notifier.public_key(),
        recipient_ntf_dh_key: *X25519KeyPair::from_secret_bytes([4; 32]).public_key(),
    };
    let Ok(Response::Nid { notifier_id, .. }) =
        conn.request(queue.rid(), nkey.clone(), Some(&queue.recipient))
    else {
        panic!("NID expected");
    };
    let mut push_server = server.connect(18);
    assert_eq!(
        push_server.request(&notifier_id, Command::Nsub, Some(&notifier)),
        Ok(Response::Sok(None))
    );
    // a message with the notification flag is stored for NMSG
    let with_ntf = Command::Send {
        flags: smp_proto::command::MsgFlags { notification: true },
        body: b"hi".to_vec(),
    };
    assert_eq!(conn.request(queue.sid(), with_ntf, None), Ok(Response::Ok));
    assert_eq!(server.state.notifications.len(), 1);
    assert_eq!(
        conn.request(queue.sid(), send(b"no"), None),
        Ok(Response::Ok)
    );
    assert_eq!(server.state.notifications.len(), 1);
    // NKEY again replaces the notifier: the old subscriber gets DELD at the next flush
    let Ok(Response::Nid {
        notifier_id: new_id,
        ..
    }) = conn.request(queue.rid(), nkey, Some(&queue.recipient))
    else {
        panic!("NID expected");
    };
    assert_ne!(new_id, notifier_id);
    let pending = server.state.ntf_subscribers.take_pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].1,
        [(notifier_id.clone(), crate::subscriptions::HubEvent::Deleted)]
    );
    assert_eq!(
        push_server.request(&notifier_id, Command::Nsub, Some(&notifier)),
        Err(ErrorType::Auth)
    );
    assert_eq!(
        conn.request(queue.rid(), Command::Ndel, Some(&queue.recipient)),
        Ok(Response::Ok)
    );
    assert_eq!(
        conn.request(queue.rid(), Command::Ndel, Some(&queue.recipient)),
        Ok(Response::Ok)
    );
    // NSUB on a queue without notifier: AUTH
    assert_eq!(
        push_server.request(&new_id, Command::Nsub, Some(&notifier)),
        Err(ErrorType::Auth)
    );
}

#[test]
fn que_reports_queue_info() {
    let server = Server::new();
    let mut conn = server.connect(18);
    let queue = conn.create_queue();
    assert_eq!(
        conn.request(queue.sid(), send(b"one"), None),
        Ok(Response::Ok)
    );
    let Ok(Response::Info(json)) = conn.request(queue.rid(), Command::Que, Some(&queue.recipient))
    else {
        panic!("INFO expected");
    };
    assert!(
        json.starts_with("{\"qiSnd\":false,\"qiNtf\":false,\"qiSize\":1,\"qiMsg\":{"),
        "{json}"
    );
    assert!(json.ends_with("\"msgType\":\"message\"}}"), "{json}");
    conn.request(queue.rid(), Command::Get, Some(&queue.recipient))
        .unwrap();
    let Ok(Response::Info(json)) = conn.request(queue.rid(), Command::Que, Some(&queue.recipient))
    else {
        panic!("INFO expected");
    };
    assert!(
        json.contains("\"qiSub\":{\"qSubThread\":\"prohibitSub\",\"qDelivered\":"),
        "{json}"
    );
}

#[test]
fn v6_new_with_password_marker() {
    let settings = ServerSettings {
        create_password: Some(b"secret".to_vec()),
        ..ServerSettings::default()
    };
    let server = Server::with(settings, 128);
    let mut conn = server.connect(6);
    let recipient = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    let request = |password: Option<&[u8]>| {
        Command::New(Box::new(NewQueueRequest {
            recipient_key: recipient.public_key(),
            recipient_dh_key: *X25519KeyPair::from_secret_bytes([3; 32]).public_key(),
            basic_auth: password.map(|p| smp_proto::address::BasicAuth::new(p).unwrap()),
            subscribe_mode: SubscriptionMode::Subscribe,
            queue_data: None,
            ntf_creds: None,
        }))
    };
    let none = EntityId::empty();
    assert_eq!(
        conn.request(&none, request(None), Some(&recipient)),
        Err(ErrorType::Auth)
    );
    let Ok(Response::Ids(ids)) = conn.request(&none, request(Some(b"secret")), Some(&recipient))
    else {
        panic!("IDS expected");
    };
    assert_eq!(ids.queue_mode, None);
    // subscribed by NEW: SUB again is a duplicate, answered OK at v6
    assert_eq!(
        conn.request(&ids.recipient_id, Command::Sub, Some(&recipient))
            .map(|r| r.to_bytes(conn.version())),
        Ok(b"OK".to_vec())
    );
    // the legacy mode-less queue counts as a contact queue until secured: no SKEY
    let sender = AuthKeyPair::generate(AuthAlgorithm::Ed25519).unwrap();
    assert_eq!(
        conn.request(
            &ids.sender_id,
            Command::Skey(sender.public_key()),
            Some(&sender)
        ),
        Err(ErrorType::Auth)
    );
}
