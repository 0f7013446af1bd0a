//! An SMP port shared with the web site (`tls::server_context_with_web`): a client without SNI
//! (every SMP client) gets the SMP credentials and ALPN; one with SNI gets the web certificate
//! and the web context's ALPN choice, and `sni_used` tells the two apart.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::pin::Pin;

use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::ssl::{
    AlpnError, Ssl, SslAcceptor, SslConnector, SslContext, SslMethod, SslVerifyMode,
};
use openssl::x509::{X509NameBuilder, X509};
use smp_transport::credentials::{create_server_credentials, ServerCredentials, SignAlgorithm};
use smp_transport::tls::{self, SERVER_ALPN, SMP_ALPN};
use tokio::net::{TcpListener, TcpStream};
use tokio_openssl::SslStream;

/// A web context with a self-signed P-256 certificate named `web.example`, ALPN http/1.1.
fn web_context() -> SslContext {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "web.example").unwrap();
    let name = name.build();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    builder.set_certificate(&cert.build()).unwrap();
    builder.set_private_key(&key).unwrap();
    builder.set_alpn_select_callback(|_, client| {
        openssl::ssl::select_next_proto(b"\x08http/1.1", client).ok_or(AlpnError::NOACK)
    });
    builder.build().into_context()
}

fn credentials() -> (tempfile::TempDir, ServerCredentials) {
    let dir = tempfile::tempdir().unwrap();
    create_server_credentials(dir.path(), "localhost", SignAlgorithm::Ed25519).unwrap();
    let credentials = ServerCredentials::load(dir.path()).unwrap();
    (dir, credentials)
}

/// Accepts one connection with the shared context; returns (SNI used, ALPN).
async fn serve_one(listener: TcpListener, context: SslContext) -> (bool, Option<Vec<u8>>) {
    let (socket, _) = listener.accept().await.unwrap();
    let connection = tls::accept(&context, socket).await.unwrap();
    (tls::sni_used(&connection.stream), connection.alpn)
}

#[tokio::test]
async fn smp_without_sni_web_with_sni() {
    let (_dir, credentials) = credentials();
    let context = tls::server_context_with_web(&credentials, &SERVER_ALPN, web_context()).unwrap();

    // SMP client: no SNI, the SMP chain validates against the identity, ALPN smp/1
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_one(listener, context.clone()));
    let client_context = tls::client_context(&[SMP_ALPN]).unwrap();
    let socket = TcpStream::connect(address).await.unwrap();
    let client = tls::connect(&client_context, socket, &credentials.identity)
        .await
        .unwrap();
    assert_eq!(client.alpn.as_deref(), Some(SMP_ALPN));
    assert_eq!(server.await.unwrap(), (false, Some(SMP_ALPN.to_vec())));

    // browser: SNI and ALPN h2, http/1.1 -> the web certificate and http/1.1
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_one(listener, context));
    let mut connector = SslConnector::builder(SslMethod::tls_client()).unwrap();
    connector.set_verify(SslVerifyMode::NONE);
    connector.set_alpn_protos(b"\x02h2\x08http/1.1").unwrap();
    let mut ssl = Ssl::new(connector.build().context()).unwrap();
    ssl.set_hostname("web.example").unwrap();
    let socket = TcpStream::connect(address).await.unwrap();
    let mut stream = SslStream::new(ssl, socket).unwrap();
    Pin::new(&mut stream).connect().await.unwrap();
    let peer = stream.ssl().peer_certificate().unwrap();
    let cn = peer.subject_name().entries().next().unwrap();
    assert_eq!(cn.data().as_slice(), b"web.example");
    assert_eq!(
        stream.ssl().selected_alpn_protocol(),
        Some(&b"http/1.1"[..])
    );
    assert_eq!(server.await.unwrap(), (true, Some(b"http/1.1".to_vec())));
}
