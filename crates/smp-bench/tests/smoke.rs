//! Runs `smp-bench smoke` against the real `smp-server` binary of this build (the one in the
//! same target directory; `cargo test --workspace` builds it). The smoke mode starts its own
//! servers in temporary directories on 127.0.0.1 and fails when any measurement measured
//! nothing.

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/` of this test executable (`target/<profile>/deps/smoke-…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile> directory")
        .to_path_buf()
}

#[test]
fn smoke_mode_runs_against_the_real_server() {
    let server = std::env::var_os("SMP_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| profile_dir().join("smp-server"));
    if !server.is_file() {
        // `cargo test -p smp-bench` alone does not build other packages' binaries.
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "-p", "smp-server", "--bin", "smp-server"])
            .status()
            .expect("run cargo build -p smp-server");
        assert!(status.success(), "cargo build -p smp-server failed");
    }
    assert!(server.is_file(), "no smp-server at {}", server.display());
    let output = Command::new(env!("CARGO_BIN_EXE_smp-bench"))
        .arg("--server-bin")
        .arg(&server)
        .arg("smoke")
        .output()
        .expect("run smp-bench smoke");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "smp-bench smoke failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("smoke passed"), "{stdout}");
    assert!(
        stdout.contains("crypto floor per relayed message"),
        "{stdout}"
    );
}
