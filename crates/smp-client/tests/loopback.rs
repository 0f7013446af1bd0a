//! The client against a scripted server over loopback TLS (real credentials, real handshake):
//! responses are routed by correlation id whatever their order, events in between reach the
//! events queue, a response for another entity is refused, and a closed connection fails the
//! commands still waiting.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use smp_client::{ClientError, ClientOptions, EventKind, SmpClient};
use smp_proto::address::ServerAddress;
use smp_proto::block::{decode_batch, encode_batch};
use smp_proto::ids::{CorrId, EntityId};
use smp_proto::response::Response;
use smp_proto::transmission::{encode_server, RawTransmission, TransmissionParams};
use smp_proto::version::VersionRange;
use smp_transport::credentials::{create_server_credentials, ServerCredentials, SignAlgorithm};
use smp_transport::handshake::{server_handshake, ServerConnection, ServerHandshakeSettings};
use smp_transport::tls::{self, SERVER_ALPN};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A transmission the scripted server received: correlation id, entity id, command bytes.
type Received = (CorrId, EntityId, Vec<u8>);

/// Accepts one connection and hands it to `script`; returns the client's address.
async fn scripted_server<F, Fut>(script: F) -> (ServerAddress, JoinHandle<()>, tempfile::TempDir)
where
    F: FnOnce(ServerConnection<TcpStream>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let dir = tempfile::tempdir().unwrap();
    create_server_credentials(dir.path(), "localhost", SignAlgorithm::Ed25519).unwrap();
    let credentials = ServerCredentials::load(dir.path()).unwrap();
    let context = tls::server_context_for(&credentials, &SERVER_ALPN).unwrap();
    let settings =
        ServerHandshakeSettings::new(&credentials, VersionRange::SUPPORTED_SERVER).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let tls = tls::accept(&context, socket).await.unwrap();
        let connection = server_handshake(&settings, tls).await.unwrap();
        script(connection).await;
    });
    let text = format!("smp://{}@127.0.0.1:{port}", credentials.identity.to_text());
    (ServerAddress::parse(&text).unwrap(), task, dir)
}

fn params(connection: &ServerConnection<TcpStream>) -> TransmissionParams {
    TransmissionParams::new(
        connection.handshake.version,
        connection.handshake.session_id.clone(),
    )
}

async fn read_batch(connection: &mut ServerConnection<TcpStream>) -> Vec<Received> {
    let params = params(connection);
    let content = connection.reader.read_content().await.unwrap();
    let batch = decode_batch(&content).unwrap();
    batch
        .iter()
        .map(|bytes| {
            let raw = RawTransmission::parse(&params, bytes).unwrap();
            (raw.corr_id, raw.entity_id, raw.command.to_vec())
        })
        .collect()
}

async fn write_batch(
    connection: &mut ServerConnection<TcpStream>,
    messages: &[(CorrId, EntityId, Response)],
) {
    let params = params(connection);
    let transmissions: Vec<Vec<u8>> = messages
        .iter()
        .map(|(corr_id, entity_id, response)| encode_server(&params, corr_id, entity_id, response))
        .collect();
    let mut content = Vec::new();
    encode_batch(&transmissions, &mut content).unwrap();
    connection.writer.write_content(&content).await.unwrap();
}

#[tokio::test]
async fn responses_are_routed_by_corr_id_and_events_queued() {
    let queue_id = EntityId::from([7u8; 24]);
    let event_entity = queue_id.clone();
    let (address, server, _dir) = scripted_server(move |mut connection| async move {
        let received = read_batch(&mut connection).await;
        assert_eq!(received.len(), 3, "three PINGs in one block");
        assert!(received.iter().all(|(corr_id, entity, command)| {
            corr_id.as_bytes().len() == 24 && entity.is_empty() && command == b"PING"
        }));
        // Answer in reverse order with an END event in the middle.
        let mut replies: Vec<(CorrId, EntityId, Response)> = received
            .iter()
            .rev()
            .map(|(corr_id, _, _)| (corr_id.clone(), EntityId::empty(), Response::Pong))
            .collect();
        replies.insert(1, (CorrId::empty(), event_entity, Response::End));
        write_batch(&mut connection, &replies).await;
        // Keep the connection open until the client is done.
        let _ = connection.reader.read_content().await;
    })
    .await;
    let client = SmpClient::connect(&address, ClientOptions::default())
        .await
        .unwrap();
    assert_eq!(client.version(), 18);
    assert!(client.block_encryption());
    assert_eq!(client.ping_batch(3).await.unwrap(), 3);
    let event = client.next_event().await.unwrap();
    assert_eq!(event.kind, EventKind::End);
    assert_eq!(event.entity_id, queue_id);
    assert!(event.corr_id.is_empty());
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn a_response_for_another_entity_is_unexpected() {
    let (address, server, _dir) = scripted_server(|mut connection| async move {
        let received = read_batch(&mut connection).await;
        let (corr_id, _, _) = received[0].clone();
        write_batch(
            &mut connection,
            &[(corr_id, EntityId::from([1u8; 24]), Response::Ok)],
        )
        .await;
        let received = read_batch(&mut connection).await;
        let (corr_id, entity, _) = received[0].clone();
        write_batch(
            &mut connection,
            &[(
                corr_id,
                entity,
                Response::Err(smp_proto::error::ErrorType::Auth),
            )],
        )
        .await;
        let _ = connection.reader.read_content().await;
    })
    .await;
    let client = SmpClient::connect(&address, ClientOptions::max_version(11))
        .await
        .unwrap();
    assert_eq!(client.version(), 11);
    let entity = EntityId::from([2u8; 24]);
    let error = client.request_raw(&entity, None, b"OFF").await.unwrap_err();
    assert!(
        matches!(error, ClientError::UnexpectedResponse(_)),
        "{error}"
    );
    let error = client.request_raw(&entity, None, b"OFF").await.unwrap_err();
    assert_eq!(error.server_error().as_deref(), Some("AUTH"));
    drop(client);
    server.await.unwrap();
}

#[tokio::test]
async fn waiting_commands_fail_when_the_server_closes() {
    let (address, server, _dir) = scripted_server(|mut connection| async move {
        let _ = read_batch(&mut connection).await;
        connection.writer.shutdown().await.unwrap();
        drop(connection);
    })
    .await;
    let options = ClientOptions {
        hello_key: false,
        ..ClientOptions::max_version(7)
    };
    let client = SmpClient::connect(&address, options).await.unwrap();
    assert!(!client.block_encryption());
    let error = client.ping().await.unwrap_err();
    assert!(matches!(error, ClientError::Closed), "{error}");
    let error = client.ping().await.unwrap_err();
    assert!(
        matches!(error, ClientError::Closed | ClientError::Transport(_)),
        "{error}"
    );
    server.await.unwrap();
}

#[tokio::test]
async fn a_wrong_key_hash_is_refused_by_tls() {
    let (address, server, _dir) = scripted_server(|_| async {}).await;
    let mut wrong = address.clone();
    wrong.server.key_hash = smp_proto::keys::KeyHash([0u8; 32]);
    let error = SmpClient::connect(&wrong, ClientOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Tls(_)), "{error}");
    server.abort();
}
