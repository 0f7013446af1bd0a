//! SMP transport handshake tests over loopback TLS with freshly generated credentials: the
//! server and client sides against each other, and the server against hand-made client hellos.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use openssl::sign::Verifier;
use openssl::x509::X509;
use smp_proto::codec::{Decode, Encode};
use smp_proto::handshake::{
    parse_handshake, ClientHello, HandshakeError, ServerHello, ServiceResponse, TransportError,
};
use smp_proto::keys::{DhPublicKey, KeyHash, PublicKey};
use smp_proto::version::{Version, VersionRange};
use smp_proto::x509::CertChainPubKey;
use smp_transport::block_stream::{BlockReader, BlockStreamError, BlockWriter};
use smp_transport::credentials::{create_server_credentials, ServerCredentials, SignAlgorithm};
use smp_transport::handshake::{
    client_handshake, server_handshake, ClientConnection, ClientHandshakeSettings,
    HandshakeFailure, ServerConnection, ServerHandshakeSettings,
};
use smp_transport::tls::{self, TlsConnection, SERVER_ALPN, SMP_ALPN};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

struct Server {
    _dir: tempfile::TempDir,
    credentials: ServerCredentials,
}

fn server(algorithm: SignAlgorithm) -> Server {
    let dir = tempfile::tempdir().unwrap();
    create_server_credentials(dir.path(), "localhost", algorithm).unwrap();
    let credentials = ServerCredentials::load(dir.path()).unwrap();
    Server {
        _dir: dir,
        credentials,
    }
}

type ServerResult = Result<ServerConnection<TcpStream>, HandshakeFailure>;

/// Starts one server handshake on a fresh port; returns the TLS session of a client that offered
/// `client_alpn`, and the server task.
async fn start(
    server: &Server,
    client_alpn: &[&[u8]],
) -> (TlsConnection<TcpStream>, JoinHandle<ServerResult>) {
    let context = tls::server_context_for(&server.credentials, &SERVER_ALPN).unwrap();
    let settings =
        ServerHandshakeSettings::new(&server.credentials, VersionRange::SUPPORTED_SERVER).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let tls = tls::accept(&context, socket).await.unwrap();
        server_handshake(&settings, tls).await
    });
    let client_context = tls::client_context(client_alpn).unwrap();
    let socket = TcpStream::connect(address).await.unwrap();
    let tls = tls::connect(&client_context, socket, &server.credentials.identity)
        .await
        .unwrap();
    (tls, task)
}

/// A full handshake with our client.
async fn connect(
    server: &Server,
    settings: ClientHandshakeSettings,
) -> (ClientConnection<TcpStream>, ServerConnection<TcpStream>) {
    let (tls, task) = start(server, &[SMP_ALPN]).await;
    let client = client_handshake(&settings, tls).await.unwrap();
    let server = task.await.unwrap().unwrap();
    (client, server)
}

/// Reads the server hello by hand; returns it with the stream halves and the client's
/// tls-unique.
async fn raw_hello(
    tls: TlsConnection<TcpStream>,
) -> (
    ServerHello,
    BlockReader<tokio::io::ReadHalf<tokio_openssl::SslStream<TcpStream>>>,
    BlockWriter<tokio::io::WriteHalf<tokio_openssl::SslStream<TcpStream>>>,
    Vec<u8>,
) {
    let (read_half, write_half) = tokio::io::split(tls.stream);
    let mut reader = BlockReader::new(read_half);
    let writer = BlockWriter::new(write_half);
    let hello: ServerHello = parse_handshake(&reader.read_padded().await.unwrap()).unwrap();
    (hello, reader, writer, tls.session_id)
}

fn client_hello(version: u16, key_hash: KeyHash) -> ClientHello {
    ClientHello {
        version: Version(version),
        key_hash,
        session_key: Some(DhPublicKey([9; 32])),
        proxy_server: false,
        service: None,
    }
}

#[tokio::test]
async fn smp_alpn_gets_full_range_and_signed_session_key() {
    for algorithm in [SignAlgorithm::Ed448, SignAlgorithm::Ed25519] {
        let server = server(algorithm);
        let (tls, task) = start(&server, &[SMP_ALPN]).await;
        let leaf = tls.stream.ssl().peer_certificate().unwrap();
        let (hello, _reader, mut writer, session_id) = raw_hello(tls).await;
        assert_eq!(hello.version_range, VersionRange::SUPPORTED_SERVER);
        // The session id is the client's own tls-unique (its Finished).
        assert_eq!(hello.session_id, session_id);
        let CertChainPubKey {
            cert_chain,
            signed_key,
        } = hello.server_key.unwrap();
        // The hello carries the TLS chain [server.crt, ca.crt].
        assert_eq!(cert_chain.len(), 2);
        assert_eq!(cert_chain.leaf(), leaf.to_der().unwrap());
        let ca = X509::from_der(&cert_chain.certificates()[1]).unwrap();
        assert_eq!(
            KeyHash::of_certificate(&ca.to_der().unwrap()),
            server.credentials.identity
        );
        // The session key is X25519, signed (EdDSA, no digest) by the TLS leaf key.
        assert!(matches!(signed_key.public_key(), Ok(PublicKey::X25519(_))));
        // SEQUENCE { SPKI(44), AlgorithmIdentifier(7), BIT STRING(2 + 1 + signature) }: 171
        // bytes with Ed448 (`30 81 a8`, bit string `03 73 00`), 120 with Ed25519.
        let expected_length = match algorithm {
            SignAlgorithm::Ed448 => 171,
            SignAlgorithm::Ed25519 => 120,
        };
        assert_eq!(signed_key.der().len(), expected_length);
        let leaf_key = leaf.public_key().unwrap();
        let mut verifier = Verifier::new_without_digest(&leaf_key).unwrap();
        assert!(verifier
            .verify_oneshot(signed_key.signature(), signed_key.signed_bytes())
            .unwrap());
        writer
            .write_padded(&client_hello(18, server.credentials.identity).to_bytes())
            .await
            .unwrap();
        let connection = task.await.unwrap().unwrap();
        assert_eq!(connection.handshake.version, Version(18));
        assert_eq!(
            connection.handshake.client_session_key,
            Some(DhPublicKey([9; 32]))
        );
        assert!(connection.handshake.block_encryption);
    }
}

#[tokio::test]
async fn no_alpn_gets_legacy_range_without_certificate_part() {
    let server = server(SignAlgorithm::Ed25519);
    let (tls, task) = start(&server, &[]).await;
    let (read_half, write_half) = tokio::io::split(tls.stream);
    let mut reader = BlockReader::new(read_half);
    let mut writer = BlockWriter::new(write_half);
    let message = reader.read_padded().await.unwrap();
    // Transport.SMPServerHandshake at 6..6: u16 6, u16 6, s8(sessionId), nothing else.
    let mut expected = vec![0, 6, 0, 6, tls.session_id.len() as u8];
    expected.extend_from_slice(&tls.session_id);
    assert_eq!(message, expected);
    let hello = ClientHello {
        version: Version(6),
        key_hash: server.credentials.identity,
        session_key: None,
        proxy_server: false,
        service: None,
    };
    writer.write_padded(&hello.to_bytes()).await.unwrap();
    let connection = task.await.unwrap().unwrap();
    assert_eq!(connection.handshake.version, Version(6));
    assert_eq!(
        connection.handshake.version_range,
        VersionRange::LEGACY_SERVER
    );
    assert!(!connection.handshake.block_encryption);
}

#[tokio::test]
async fn our_client_agrees_with_our_server() {
    for algorithm in [SignAlgorithm::Ed448, SignAlgorithm::Ed25519] {
        let server = server(algorithm);
        let settings = ClientHandshakeSettings::new(server.credentials.identity);
        let (client, server_side) = connect(&server, settings).await;
        assert_eq!(client.handshake.version, Version(18));
        assert_eq!(
            client.handshake.session_id,
            server_side.handshake.session_id
        );
        assert_eq!(
            client.handshake.server_session_key,
            Some(*server_side.handshake.server_session_key.public_key())
        );
        assert_eq!(
            client
                .handshake
                .client_session_key
                .as_ref()
                .map(|pair| *pair.public_key()),
            server_side.handshake.client_session_key
        );
        assert!(client.handshake.block_encryption);
        assert!(server_side.handshake.block_encryption);
    }
}

#[tokio::test]
async fn encrypted_blocks_flow_both_ways() {
    let server = server(SignAlgorithm::Ed25519);
    let settings = ClientHandshakeSettings::new(server.credentials.identity);
    let (mut client, mut server_side) = connect(&server, settings).await;
    assert!(client.writer.is_encrypted() && client.reader.is_encrypted());
    assert!(server_side.writer.is_encrypted() && server_side.reader.is_encrypted());
    for round in 0..3u8 {
        let request = vec![round; 100 + usize::from(round)];
        client.writer.write_content(&request).await.unwrap();
        assert_eq!(server_side.reader.read_content().await.unwrap(), request);
        let response = vec![round + 100; 16_000];
        server_side.writer.write_content(&response).await.unwrap();
        assert_eq!(client.reader.read_content().await.unwrap(), response);
    }
    // Encrypted blocks are not plain padded blocks.
    server_side.writer.write_content(b"secret").await.unwrap();
    let raw = client.reader.read_block().await.unwrap();
    assert!(!raw.windows(6).any(|window| window == b"secret"));
}

#[tokio::test]
async fn versions_below_11_and_proxies_do_not_encrypt() {
    let server = server(SignAlgorithm::Ed25519);
    let mut settings = ClientHandshakeSettings::new(server.credentials.identity);
    settings.version_range = VersionRange::new(Version(6), Version(10)).unwrap();
    let (mut client, mut server_side) = connect(&server, settings).await;
    assert_eq!(server_side.handshake.version, Version(10));
    assert!(!server_side.handshake.block_encryption);
    client.writer.write_content(b"plain").await.unwrap();
    assert_eq!(
        server_side.reader.read_block().await.unwrap()[..7],
        *b"\x00\x05plain"
    );

    let mut proxy = ClientHandshakeSettings::new(server.credentials.identity);
    proxy.proxy_server = true;
    let (client, server_side) = connect(&server, proxy).await;
    assert_eq!(client.handshake.version, Version(18));
    assert!(server_side.handshake.proxy_server);
    assert!(!server_side.handshake.block_encryption);
    assert!(!client.handshake.block_encryption);

    let mut keyless = ClientHandshakeSettings::new(server.credentials.identity);
    keyless.send_session_key = false;
    let (client, server_side) = connect(&server, keyless).await;
    assert_eq!(server_side.handshake.client_session_key, None);
    assert!(!server_side.handshake.block_encryption);
    assert!(!client.handshake.block_encryption);
}

/// The server refuses a client hello by closing without sending anything.
async fn refused(server: &Server, message: Vec<u8>) -> HandshakeFailure {
    let (tls, task) = start(server, &[SMP_ALPN]).await;
    let (_hello, mut reader, mut writer, _) = raw_hello(tls).await;
    writer.write_padded(&message).await.unwrap();
    let failure = task.await.unwrap().unwrap_err();
    assert!(matches!(
        reader.read_block().await,
        Err(BlockStreamError::Closed)
    ));
    failure
}

#[tokio::test]
async fn wrong_key_hash_is_refused_silently() {
    let server = server(SignAlgorithm::Ed25519);
    let failure = refused(&server, client_hello(18, KeyHash([1; 32])).to_bytes()).await;
    assert!(matches!(
        failure,
        HandshakeFailure::Transport(TransportError::Handshake(HandshakeError::Identity))
    ));
}

#[tokio::test]
async fn version_outside_range_is_refused_silently() {
    let server = server(SignAlgorithm::Ed25519);
    for version in [5, 19] {
        let failure = refused(
            &server,
            client_hello(version, server.credentials.identity).to_bytes(),
        )
        .await;
        assert!(matches!(
            failure,
            HandshakeFailure::Transport(TransportError::Version)
        ));
    }
}

#[tokio::test]
async fn unparsable_hello_is_refused_silently() {
    let server = server(SignAlgorithm::Ed25519);
    let failure = refused(&server, b"\x00".to_vec()).await;
    assert!(matches!(
        failure,
        HandshakeFailure::Transport(TransportError::Handshake(HandshakeError::Parse))
    ));
}

#[tokio::test]
async fn trailing_bytes_after_client_hello_are_ignored() {
    let server = server(SignAlgorithm::Ed25519);
    let (tls, task) = start(&server, &[SMP_ALPN]).await;
    let (_hello, _reader, mut writer, _) = raw_hello(tls).await;
    let mut message = client_hello(12, server.credentials.identity).to_bytes();
    message.extend_from_slice(b"future extension");
    writer.write_padded(&message).await.unwrap();
    let connection = task.await.unwrap().unwrap();
    assert_eq!(connection.handshake.version, Version(12));
    assert_eq!(
        connection.handshake.version_range,
        VersionRange::new(Version(6), Version(12)).unwrap()
    );
}

#[tokio::test]
async fn service_block_is_refused_with_bad_auth() {
    let server = server(SignAlgorithm::Ed25519);
    let (tls, task) = start(&server, &[SMP_ALPN]).await;
    let (hello, mut reader, mut writer, _) = raw_hello(tls).await;
    // Reuse the server's own certificate part as a (bogus) service certificate.
    let cert_key = hello.server_key.unwrap();
    let mut message = client_hello(16, server.credentials.identity).to_bytes();
    // ClientHello v16: the optional service block is `'1' role CertChainPubKey`.
    message.truncate(message.len() - 1);
    message.extend_from_slice(b"1M");
    cert_key.encode(&mut message);
    assert!(ClientHello::from_bytes(&message).unwrap().service.is_some());
    writer.write_padded(&message).await.unwrap();
    let response: ServiceResponse = parse_handshake(&reader.read_padded().await.unwrap()).unwrap();
    assert_eq!(
        response,
        ServiceResponse::Rejected(TransportError::Handshake(HandshakeError::BadAuth))
    );
    assert!(task.await.unwrap().is_err());
}
