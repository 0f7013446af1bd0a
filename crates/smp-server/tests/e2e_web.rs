//! The embedded web site of the real `smp-server` binary: `[WEB] static_path` is generated at
//! start, `[WEB] http` serves it over plain TCP and a separate `[WEB] https` port over TLS (with
//! a 4096-bit RSA certificate, as `start` requires).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{free_port, ServerOptions, TestServer};
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::{X509NameBuilder, X509};

const WAIT: Duration = Duration::from_secs(30);

fn connect(port: u16) -> TcpStream {
    let deadline = Instant::now() + WAIT;
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => {
                stream.set_read_timeout(Some(WAIT)).unwrap();
                return stream;
            }
            Err(error) if Instant::now() > deadline => panic!("connect {port}: {error}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn exchange<S: Read + Write>(mut stream: S, request: &str) -> String {
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: smp.example.com\r\n\r\n")
}

fn write_rsa_credentials(cert: &Path, key: &Path) {
    let rsa = Rsa::generate(4096).unwrap();
    let pkey = PKey::from_rsa(rsa).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    builder.set_subject_name(&name).unwrap();
    builder.set_issuer_name(&name).unwrap();
    builder.set_pubkey(&pkey).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    builder.sign(&pkey, MessageDigest::sha256()).unwrap();
    std::fs::write(cert, builder.build().to_pem().unwrap()).unwrap();
    std::fs::write(key, pkey.private_key_to_pem_pkcs8().unwrap()).unwrap();
}

#[test]
fn serves_site_over_http_and_https() {
    let credentials = tempfile::tempdir().unwrap();
    let cert = credentials.path().join("web.crt");
    let key = credentials.path().join("web.key");
    write_rsa_credentials(&cert, &key);
    let http = free_port();
    let https = free_port();
    let setting = |key: &str, value: String| ("WEB".to_string(), key.to_string(), value);
    let server = TestServer::start_with(ServerOptions {
        ini: vec![
            setting("http", http.to_string()),
            setting("https", https.to_string()),
            setting("cert", cert.display().to_string()),
            setting("key", key.display().to_string()),
        ],
        ..ServerOptions::default()
    });

    // generated files (static_path defaults to <log dir>/www)
    let root = server.log_dir().join("www");
    for file in [
        "index.html",
        "a/index.html",
        "contact/index.html",
        "well-known/assetlinks.json",
    ] {
        assert!(root.join(file).is_file(), "{file} not generated");
    }

    let index = exchange(connect(http), &get("/"));
    assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
    assert!(index.contains("Content-Type: text/html\r\n"));
    assert!(index.contains(server.fingerprint()), "{index}");

    let link = exchange(connect(http), &get("/a"));
    assert!(link.starts_with("HTTP/1.1 200 OK\r\n"), "{link}");
    assert!(link.contains("simplex:/"));

    let apple = exchange(
        connect(http),
        &get("/.well-known/apple-app-site-association"),
    );
    assert!(apple.starts_with("HTTP/1.1 200 OK\r\n"), "{apple}");
    assert!(apple.contains("Content-Type: application/json\r\n"));

    let traversal = exchange(connect(http), &get("/../etc/smp-server.ini"));
    assert!(
        traversal.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{traversal}"
    );
    let listing = exchange(connect(http), &get("/well-known/"));
    assert!(
        listing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{listing}"
    );

    // HTTPS with SNI and ALPN http/1.1, as a browser connects
    let mut connector = SslConnector::builder(SslMethod::tls_client()).unwrap();
    connector.set_verify(SslVerifyMode::NONE);
    connector.set_alpn_protos(b"\x08http/1.1").unwrap();
    let connector = connector.build();
    let tls = connector
        .configure()
        .unwrap()
        .verify_hostname(false)
        .connect("localhost", connect(https))
        .unwrap();
    assert_eq!(tls.ssl().selected_alpn_protocol(), Some(&b"http/1.1"[..]));
    let page = exchange(tls, &get("/c"));
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("simplex:/"));
}
