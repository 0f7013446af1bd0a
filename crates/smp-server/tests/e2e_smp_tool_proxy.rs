//! The `smp` tool (crate `smp-client`) against real `smp-server` processes on loopback: the
//! direct `smp test` passes (and fails with its exit code on a wrong fingerprint); with private
//! message routing, `smp test <destination> --via <proxy>` passes with two servers and
//! `smp queue send --via` delivers a message that `smp queue recv` reads on the destination;
//! a proxy that needs a password, and a destination that is down, fail with exit code 13 and
//! the reference's `ERR PROXY …` code named.
//!
//! The `smp` binary belongs to another package, so it is built here (a no-op when it is fresh)
//! into the same target directory and profile as this test's `smp-server`; `SMP_TOOL_BIN`
//! overrides the path.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::{ServerOptions, TestServer};

/// The `smp` binary, built once per test process.
fn smp_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("SMP_TOOL_BIN") {
            return PathBuf::from(path);
        }
        let server = Path::new(env!("CARGO_BIN_EXE_smp-server"));
        let profile_dir = server.parent().expect("profile directory");
        let target_dir = profile_dir.parent().expect("target directory");
        let profile = profile_dir
            .file_name()
            .and_then(|name| name.to_str())
            .expect("profile name");
        let profile = if profile == "debug" { "dev" } else { profile };
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let output = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "smp-client", "--bin", "smp"])
            .arg("--profile")
            .arg(profile)
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(target_dir)
            .stdin(Stdio::null())
            .output()
            .expect("run cargo build for smp");
        assert!(
            output.status.success(),
            "building smp failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let binary = profile_dir.join("smp");
        assert!(binary.exists(), "{} was not built", binary.display());
        binary
    })
}

/// Runs `smp <args>` and returns its output.
fn smp(args: &[&str]) -> Output {
    Command::new(smp_binary())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run smp")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The server's address with its password.
fn address_with_password(server: &TestServer, password: &str) -> String {
    format!(
        "smp://{}:{password}@127.0.0.1:{}",
        server.fingerprint(),
        server.port()
    )
}

#[test]
fn direct_server_test() {
    let server = TestServer::start();
    let output = smp(&["test", &server.address()]);
    let shown = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{shown}\n{}",
        server.output()
    );
    for line in [
        "ok    TLS + server identity",
        "ok    create queue (NEW)",
        "ok    receive message (MSG)",
        "decrypted, content matches",
        "Server test passed",
    ] {
        assert!(shown.contains(line), "missing {line:?} in\n{shown}");
    }
    // Another server's fingerprint: the identity check fails, nothing is sent.
    let other = TestServer::start();
    let impostor = format!("smp://{}@127.0.0.1:{}", other.fingerprint(), server.port());
    let output = smp(&["test", &impostor]);
    let shown = text(&output);
    // Exit code 7: fingerprint mismatch (docs/smp-tool.md).
    assert_eq!(output.status.code(), Some(7), "{shown}");
    assert!(shown.contains("fingerprint"), "{shown}");
    assert!(!shown.contains("create queue"), "{shown}");
}

#[test]
fn test_and_send_through_a_proxy() {
    let proxy = TestServer::start();
    let destination = TestServer::start();
    let output = smp(&["test", &destination.address(), "--via", &proxy.address()]);
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0), "{shown}\n{}", proxy.output());
    for line in [
        "ok    proxy session (PRXY)",
        "PKEY: destination identity verified",
        "ok    secure queue (SKEY)",
        "ok    send message (SEND)",
        "ok    receive message (MSG)",
        "decrypted, content matches",
        "Server test through the proxy passed",
    ] {
        assert!(shown.contains(line), "missing {line:?} in\n{shown}");
    }
    // The proxy, not the tool, connected to the destination.
    assert!(
        proxy.output().contains("connected to relay 127.0.0.1"),
        "{}",
        proxy.output()
    );

    let directory = tempfile::tempdir().expect("temporary directory");
    let queue_file = directory.path().join("q.json");
    let queue_file = queue_file.to_str().expect("utf-8 path");
    let created = smp(&[
        "queue",
        "new",
        &destination.address(),
        "--queue-file",
        queue_file,
    ]);
    assert!(created.status.success(), "{}", text(&created));
    let sent = smp(&[
        "queue",
        "send",
        "--queue-file",
        queue_file,
        "--via",
        &proxy.address(),
        "hello through the proxy",
    ]);
    assert!(sent.status.success(), "{}", text(&sent));
    assert!(text(&sent).contains("through the proxy 127.0.0.1"));
    let received = smp(&["queue", "recv", "--queue-file", queue_file, "--wait", "10"]);
    assert!(received.status.success(), "{}", text(&received));
    assert_eq!(received.stdout, b"hello through the proxy\n");
}

#[test]
fn proxy_failures_name_the_proxy_error() {
    let proxy = TestServer::start_with(ServerOptions {
        init_args: vec!["--password".into(), "s3cret".into()],
        ..ServerOptions::default()
    });
    let mut destination = TestServer::start();
    let with_password = address_with_password(&proxy, "s3cret");

    // A proxy with a server password refuses PRXY without it.
    let output = smp(&["test", &destination.address(), "--via", &proxy.address()]);
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(13), "{shown}");
    assert!(shown.contains("FAIL  proxy session (PRXY)"), "{shown}");
    assert!(shown.contains("ERR PROXY BASIC_AUTH"), "{shown}");

    // With the password it works.
    let output = smp(&["test", &destination.address(), "--via", &with_password]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));

    // The destination is down: the proxy cannot connect to it.
    let down = destination.address();
    destination.stop();
    let output = smp(&["test", &down, "--via", &with_password]);
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(13), "{shown}");
    assert!(shown.contains("ERR PROXY BROKER NETWORK"), "{shown}");
    assert!(
        shown.contains("The destination fails from here too"),
        "{shown}"
    );
}
