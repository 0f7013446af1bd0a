//! Checks of the end-to-end harness itself: the real binary initialises, listens on the chosen
//! port, survives a restart, and the INI editing helpers keep the file's shape.

mod common;

use common::{comment_out, set_ini_value, TestServer};
use std::net::TcpStream;

#[test]
fn server_starts_listens_and_restarts() {
    let mut server = TestServer::start();
    assert_eq!(server.fingerprint().len(), 44, "base64url of 32 bytes");
    assert!(server.address().starts_with("smp://"));
    TcpStream::connect(("127.0.0.1", server.port())).expect("port accepts");
    server.restart();
    TcpStream::connect(("127.0.0.1", server.port())).expect("port accepts after restart");
}

#[test]
fn ini_helpers() {
    let ini = "[A]\nport = 1\n# other: 2\n\n[B]\nkey = x\n";
    let edited = set_ini_value(ini, "A", "port", "7");
    assert_eq!(edited, "[A]\nport = 7\n# other: 2\n\n[B]\nkey = x\n");
    let edited = set_ini_value(ini, "A", "other", "3");
    assert_eq!(edited, "[A]\nport = 1\nother = 3\n\n[B]\nkey = x\n");
    let edited = set_ini_value(ini, "B", "new", "y");
    assert_eq!(
        edited,
        "[A]\nport = 1\n# other: 2\n\n[B]\nkey = x\nnew = y\n"
    );
    let edited = set_ini_value(ini, "C", "k", "v");
    assert!(edited.ends_with("[C]\nk = v\n"));
    let edited = comment_out(ini, "B", "key");
    assert_eq!(edited, "[A]\nport = 1\n# other: 2\n\n[B]\n# key = x\n");
}
