//! Helpers for the CLI tests: the real `smp-server` binary run to completion in temporary
//! configuration and state directories (`SMP_SERVER_CFG_PATH`, `SMP_SERVER_LOG_PATH`), with
//! `RUST_LOG` removed so that its output does not depend on the caller's environment.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use openssl::nid::Nid;
use openssl::pkey::{Id, PKey};
use openssl::x509::X509;

/// A temporary root with the configuration and state directories below it (not created).
pub struct Dirs {
    _root: tempfile::TempDir,
    pub cfg: PathBuf,
    pub log: PathBuf,
}

impl Dirs {
    /// `cfg` and `log` are paths relative to a new temporary root.
    pub fn new(cfg: &str, log: &str) -> Dirs {
        let root = tempfile::tempdir().expect("temporary directory");
        let cfg = root.path().join(cfg);
        let log = root.path().join(log);
        Dirs {
            _root: root,
            cfg,
            log,
        }
    }
}

/// What one run of the binary ended with.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `smp-server <arguments>` with `input` on stdin, to completion.
pub fn run(dirs: &Dirs, arguments: &[&str], input: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smp-server"))
        .args(arguments)
        .env("SMP_SERVER_CFG_PATH", &dirs.cfg)
        .env("SMP_SERVER_LOG_PATH", &dirs.log)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn smp-server");
    child
        .stdin
        .take()
        .expect("stdin pipe")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for smp-server");
    Run {
        code: status.code().expect("exit code"),
        stdout: String::from_utf8(stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(stderr).expect("UTF-8 stderr"),
    }
}

/// The subject common name of a certificate.
pub fn common_name(certificate: &X509) -> String {
    certificate
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .expect("common name")
        .data()
        .to_string()
        .expect("common name text")
        .to_string()
}

/// The algorithm of a PEM private key file.
pub fn key_id(path: &Path) -> Id {
    PKey::private_key_from_pem(&fs::read(path).expect("read key"))
        .expect("PEM private key")
        .id()
}
