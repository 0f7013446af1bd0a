//! End-to-end TLS and SMP handshake against the real `smp-server` binary (`init -y`, then
//! `start` in a temporary directory): ALPN `smp/1` gets 6..18 with the signed session key and
//! block encryption, no ALPN gets the legacy 6..6, a wrong server identity is refused by the
//! client's certificate check, and `PING` is answered with `PONG`.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::TestServer;
use smp_proto::handshake::{parse_handshake, ServerHello};
use smp_proto::keys::KeyHash;
use smp_proto::version::{Version, VersionRange};
use smp_transport::block_stream::BlockReader;
use smp_transport::handshake::{client_handshake, ClientHandshakeSettings};
use smp_transport::tls::{self, TlsError, SMP_ALPN};
use tokio::net::TcpStream;

fn identity(server: &TestServer) -> KeyHash {
    KeyHash::from_text(server.fingerprint().trim()).unwrap()
}

async fn tls_session(
    server: &TestServer,
    alpn: &[&[u8]],
    key_hash: &KeyHash,
) -> Result<tls::TlsConnection<TcpStream>, TlsError> {
    let context = tls::client_context(alpn).unwrap();
    let socket = TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .unwrap();
    tls::connect(&context, socket, key_hash).await
}

#[tokio::test]
async fn handshake_ping_and_legacy_range() {
    let server = TestServer::start();
    let key_hash = identity(&server);

    let tls = tls_session(&server, &[SMP_ALPN], &key_hash).await.unwrap();
    let mut client = client_handshake(&ClientHandshakeSettings::new(key_hash), tls)
        .await
        .unwrap();
    assert_eq!(client.handshake.version, Version(18));
    assert_eq!(
        client.handshake.server_version_range,
        VersionRange::SUPPORTED_SERVER
    );
    assert!(client.handshake.server_session_key.is_some());
    assert!(client.handshake.block_encryption);
    // `01 s16(t)` with t = empty auth, corrId "ping", empty entity, PING.
    client
        .writer
        .write_content(b"\x01\x00\x0b\x00\x04ping\x00PING")
        .await
        .unwrap();
    assert_eq!(
        client.reader.read_content().await.unwrap(),
        b"\x01\x00\x0b\x00\x04ping\x00PONG"
    );

    // Without ALPN the server advertises 6..6 and sends no certificate part.
    let tls = tls_session(&server, &[], &key_hash).await.unwrap();
    let session_id = tls.session_id.clone();
    let mut reader = BlockReader::new(tls.stream);
    let hello: ServerHello = parse_handshake(&reader.read_padded().await.unwrap()).unwrap();
    assert_eq!(hello.version_range, VersionRange::LEGACY_SERVER);
    assert_eq!(hello.session_id, session_id);
    assert!(hello.server_key.is_none());

    // A client that expects another identity rejects the chain.
    let other = KeyHash([0; 32]);
    assert!(tls_session(&server, &[SMP_ALPN], &other).await.is_err());
}
