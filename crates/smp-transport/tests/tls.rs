//! TLS layer tests over loopback TCP with freshly generated credentials: parameters, ALPN
//! selection, tls-unique agreement, and the client's validation of the server chain.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use smp_transport::credentials::{create_server_credentials, ServerCredentials, SignAlgorithm};
use smp_transport::tls::{self, CertificateError, TlsError, SERVER_ALPN, SMP_ALPN};
use tokio::net::{TcpListener, TcpStream};

fn credentials(algorithm: SignAlgorithm) -> (tempfile::TempDir, ServerCredentials) {
    let dir = tempfile::tempdir().unwrap();
    create_server_credentials(dir.path(), "localhost", algorithm).unwrap();
    let credentials = ServerCredentials::load(dir.path()).unwrap();
    (dir, credentials)
}

/// Runs one TLS handshake; returns (server result, client result).
async fn handshake(
    credentials: &ServerCredentials,
    server_alpn: &[&[u8]],
    client_alpn: &[&[u8]],
    key_hash: smp_proto::keys::KeyHash,
) -> (
    Result<tls::TlsConnection<TcpStream>, TlsError>,
    Result<tls::TlsConnection<TcpStream>, TlsError>,
) {
    let server_context = tls::server_context_for(credentials, server_alpn).unwrap();
    let client_context = tls::client_context(client_alpn).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tls::accept(&server_context, socket).await
    });
    let socket = TcpStream::connect(address).await.unwrap();
    let client = tls::connect(&client_context, socket, &key_hash).await;
    (server.await.unwrap(), client)
}

#[tokio::test]
async fn tls13_handshake_with_both_key_types() {
    for algorithm in [SignAlgorithm::Ed448, SignAlgorithm::Ed25519] {
        let (_dir, credentials) = credentials(algorithm);
        let (server, client) = handshake(
            &credentials,
            &SERVER_ALPN,
            &[SMP_ALPN],
            credentials.identity,
        )
        .await;
        let server = server.unwrap();
        let client = client.unwrap();
        // tls-unique: the server's peer Finished is the client's own Finished (TLS 1.3: 32 bytes).
        assert_eq!(server.session_id.len(), 32);
        assert_eq!(server.session_id, client.session_id);
        assert_eq!(server.alpn.as_deref(), Some(SMP_ALPN));
        assert_eq!(client.alpn.as_deref(), Some(SMP_ALPN));
        let ssl = server.stream.ssl();
        assert_eq!(ssl.version_str(), "TLSv1.3");
        assert_eq!(
            ssl.current_cipher().map(|cipher| cipher.name()),
            Some("TLS_CHACHA20_POLY1305_SHA256")
        );
        // The client received [server.crt, ca.crt].
        assert_eq!(client.stream.ssl().peer_cert_chain().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn server_picks_first_of_its_own_list() {
    let (_dir, credentials) = credentials(SignAlgorithm::Ed25519);
    let (server, client) = handshake(
        &credentials,
        &SERVER_ALPN,
        &[b"http/1.1", b"h2"],
        credentials.identity,
    )
    .await;
    assert_eq!(server.unwrap().alpn.as_deref(), Some(&b"h2"[..]));
    assert!(client.is_ok());
}

#[tokio::test]
async fn no_alpn_offered_is_accepted_without_alpn() {
    let (_dir, credentials) = credentials(SignAlgorithm::Ed25519);
    let (server, client) = handshake(&credentials, &SERVER_ALPN, &[], credentials.identity).await;
    assert_eq!(server.unwrap().alpn, None);
    assert_eq!(client.unwrap().alpn, None);
}

#[tokio::test]
async fn unknown_alpn_is_refused() {
    let (_dir, credentials) = credentials(SignAlgorithm::Ed25519);
    let (server, client) = handshake(
        &credentials,
        &SERVER_ALPN,
        &[b"smp/9"],
        credentials.identity,
    )
    .await;
    assert!(matches!(server, Err(TlsError::Handshake(_))));
    let error = client.unwrap_err().to_string();
    assert!(error.contains("no application protocol"), "{error}");
}

#[tokio::test]
async fn wrong_key_hash_is_rejected_by_the_client() {
    let (_dir, credentials) = credentials(SignAlgorithm::Ed448);
    let wrong = smp_proto::keys::KeyHash([7; 32]);
    let (_server, client) = handshake(&credentials, &SERVER_ALPN, &[SMP_ALPN], wrong).await;
    assert!(matches!(
        client,
        Err(TlsError::Certificate(CertificateError::UnknownIdentity))
    ));
}

#[test]
fn chain_validation_rules() {
    let (_dir, first) = credentials(SignAlgorithm::Ed25519);
    let (_other_dir, second) = credentials(SignAlgorithm::Ed25519);
    let chain = vec![first.certificate.clone(), first.chain[0].clone()];
    assert_eq!(tls::validate_server_chain(&chain, &first.identity), Ok(()));
    assert_eq!(
        tls::validate_server_chain(&chain[..1], &first.identity),
        Err(CertificateError::EmptyChain)
    );
    let long = vec![chain[0].clone(); 5];
    assert_eq!(
        tls::validate_server_chain(&long, &first.identity),
        Err(CertificateError::ChainTooLong)
    );
    // A leaf from another CA presented with this CA: the identity matches, the path does not.
    let forged = vec![second.certificate.clone(), first.chain[0].clone()];
    assert!(matches!(
        tls::validate_server_chain(&forged, &first.identity),
        Err(CertificateError::Invalid(_))
    ));
}

#[tokio::test]
async fn tls12_session_id_is_the_12_byte_client_finished() {
    use openssl::ssl::{Ssl, SslContext, SslMethod, SslVerifyMode, SslVersion};
    use std::pin::Pin;
    let (_dir, credentials) = credentials(SignAlgorithm::Ed448);
    let server_context = tls::server_context_for(&credentials, &SERVER_ALPN).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tls::accept(&server_context, socket).await
    });
    let mut builder = SslContext::builder(SslMethod::tls_client()).unwrap();
    builder
        .set_max_proto_version(Some(SslVersion::TLS1_2))
        .unwrap();
    builder.set_verify(SslVerifyMode::NONE);
    let client_context = builder.build();
    let socket = TcpStream::connect(address).await.unwrap();
    let mut stream =
        tokio_openssl::SslStream::new(Ssl::new(&client_context).unwrap(), socket).unwrap();
    Pin::new(&mut stream).connect().await.unwrap();
    let mut finished = [0u8; 64];
    let length = stream.ssl().finished(&mut finished);
    let server = server.await.unwrap().unwrap();
    assert_eq!(server.stream.ssl().version_str(), "TLSv1.2");
    assert_eq!(
        server
            .stream
            .ssl()
            .current_cipher()
            .map(|cipher| cipher.name()),
        Some("ECDHE-ECDSA-CHACHA20-POLY1305")
    );
    assert_eq!(length, 12);
    assert_eq!(server.session_id, finished[..12]);
}
