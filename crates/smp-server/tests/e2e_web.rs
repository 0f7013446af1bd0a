//! The embedded web site of the real `smp-server` binary: `[WEB] static_path` is generated at
//! start, `[WEB] http` serves it over plain TCP and a separate `[WEB] https` port over TLS (with
//! a 4096-bit RSA certificate, as `start` requires); an SMP port that is also `[WEB] https`
//! serves the site to TLS clients that send SNI and SMP to those that do not.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::client::new_unsubscribed_queue;
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

fn https_get(port: u16, path: &str) -> String {
    let mut connector = SslConnector::builder(SslMethod::tls_client()).unwrap();
    connector.set_verify(SslVerifyMode::NONE);
    connector.set_alpn_protos(b"\x02h2\x08http/1.1").unwrap();
    let connector = connector.build();
    // `connect` sends SNI "localhost"
    let tls = connector
        .configure()
        .unwrap()
        .verify_hostname(false)
        .connect("localhost", connect(port))
        .unwrap();
    assert_eq!(tls.ssl().selected_alpn_protocol(), Some(&b"http/1.1"[..]));
    let subject = tls.ssl().peer_certificate().unwrap();
    let cn = subject.subject_name().entries().next().unwrap();
    assert_eq!(cn.data().as_slice(), b"web.example", "the web certificate");
    exchange(tls, &get(path))
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: smp.example.com\r\n\r\n")
}

fn write_rsa_credentials(cert: &Path, key: &Path) {
    let rsa = Rsa::generate(4096).unwrap();
    let pkey = PKey::from_rsa(rsa).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "web.example").unwrap();
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
    let (_credentials, mut ini) = web_credentials();
    let http = free_port();
    let https = free_port();
    ini.push(("WEB".into(), "http".into(), http.to_string()));
    ini.push(("WEB".into(), "https".into(), https.to_string()));
    let server = TestServer::start_with(ServerOptions {
        ini,
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

    // HTTPS with SNI and ALPN, as a browser connects
    let page = https_get(https, "/c");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("simplex:/"));
}

fn web_credentials() -> (tempfile::TempDir, Vec<(String, String, String)>) {
    let credentials = tempfile::tempdir().unwrap();
    let cert = credentials.path().join("web.crt");
    let key = credentials.path().join("web.key");
    write_rsa_credentials(&cert, &key);
    let setting = |key: &str, value: String| ("WEB".to_string(), key.to_string(), value);
    let settings = vec![
        setting("cert", cert.display().to_string()),
        setting("key", key.display().to_string()),
    ];
    (credentials, settings)
}

#[tokio::test]
async fn smp_port_shared_with_https_by_sni() {
    let (_credentials, ini) = web_credentials();
    let mut server = TestServer::start_with(ServerOptions {
        ini,
        ..ServerOptions::default()
    });
    // `[WEB] https` is the SMP port, whose number is known once the server has it
    server.terminate();
    let port = server.port();
    let ini_path = server.cfg_dir().join("smp-server.ini");
    let text = std::fs::read_to_string(&ini_path).unwrap();
    std::fs::write(
        &ini_path,
        common::set_ini_value(&text, "WEB", "https", &port.to_string()),
    )
    .unwrap();
    server.launch_again();

    // SMP clients send no SNI: SMP as on any port, with ALPN smp/1 ...
    let client = server.connect().await;
    let queue = new_unsubscribed_queue(&client).await;
    client.ping().await.expect("PING");
    drop(queue);
    // ... and with ALPN http/1.1 (the reference client's web-port mode)
    let options = smp_client::ClientOptions {
        alpn: vec![b"http/1.1".to_vec()],
        ..smp_client::ClientOptions::default()
    };
    let client = smp_client::SmpClient::connect(&server.server_address(), options)
        .await
        .expect("SMP with ALPN http/1.1 and no SNI");
    client.ping().await.expect("PING");

    // a browser sends SNI: the web certificate and the site
    let (index, link) =
        tokio::task::spawn_blocking(move || (https_get(port, "/"), https_get(port, "/a")))
            .await
            .unwrap();
    assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
    assert!(index.contains(server.fingerprint()));
    assert!(link.starts_with("HTTP/1.1 200 OK\r\n"), "{link}");
    assert!(link.contains("simplex:/"));
}
