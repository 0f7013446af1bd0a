//! `smp-server delete`, `cert`, `start` start-up checks, configuration errors, version and the
//! GHC `+RTS … -RTS` arguments: the real binary in temporary directories (env overrides).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::fs;
use std::path::PathBuf;

use common::cli::{common_name, key_id, run, Dirs};
use openssl::pkey::Id;
use openssl::x509::X509;

fn dirs() -> Dirs {
    Dirs::new("cfg", "log")
}

fn initialized(extra: &[&str]) -> Dirs {
    let dirs = dirs();
    let mut arguments = vec!["init", "-y"];
    arguments.extend_from_slice(extra);
    let result = run(&dirs, &arguments, "");
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    dirs
}

fn ini_path(dirs: &Dirs) -> PathBuf {
    dirs.cfg.join("smp-server.ini")
}

const DELETE_PROMPT: &str = "WARNING: deleting the server will make all queues inaccessible, because the server identity (certificate fingerprint) will change.\nTHIS CANNOT BE UNDONE!\nContinue (Y/n): ";

#[test]
fn delete_needs_capital_y() {
    let dirs = initialized(&[]);
    for answer in ["", "y\n", "yes\n", "n\n"] {
        let result = run(&dirs, &["delete"], answer);
        assert_eq!(result.code, 1);
        assert_eq!(
            result.stdout,
            format!("{DELETE_PROMPT}Server NOT deleted\n")
        );
        assert!(ini_path(&dirs).is_file());
    }
    let result = run(&dirs, &["delete"], "Y\n");
    assert_eq!(result.code, 0);
    assert_eq!(
        result.stdout,
        format!("{DELETE_PROMPT}Deleted configuration and log files\n")
    );
    assert!(!dirs.cfg.exists());
    assert!(!dirs.log.exists());
}

#[test]
fn cert_keeps_identity_and_replaces_online_certificate() {
    let dirs = initialized(&["-n", "smp.example.com"]);
    let fingerprint = fs::read_to_string(dirs.cfg.join("fingerprint")).unwrap();
    let ca_before = fs::read(dirs.cfg.join("ca.crt")).unwrap();
    let server_before = fs::read(dirs.cfg.join("server.crt")).unwrap();

    let result = run(&dirs, &["cert"], "");
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    assert!(result
        .stdout
        .starts_with("Generated new server credentials\n----------\n"));
    assert!(result.stdout.contains("CA private key location:\n"));
    let server_after = fs::read(dirs.cfg.join("server.crt")).unwrap();
    assert_ne!(server_before, server_after);
    assert_eq!(fs::read(dirs.cfg.join("ca.crt")).unwrap(), ca_before);
    assert_eq!(
        fs::read_to_string(dirs.cfg.join("fingerprint")).unwrap(),
        fingerprint
    );
    let ca = X509::from_pem(&ca_before).unwrap();
    let server = X509::from_pem(&server_after).unwrap();
    assert!(server.verify(&ca.public_key().unwrap()).unwrap());
    assert_eq!(common_name(&server), "smp.example.com");

    let result = run(
        &dirs,
        &["cert", "-a", "ED448", "--cn", "relay.example.net"],
        "",
    );
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    let server = X509::from_pem(&fs::read(dirs.cfg.join("server.crt")).unwrap()).unwrap();
    assert_eq!(common_name(&server), "relay.example.net");
    assert_eq!(key_id(&dirs.cfg.join("server.key")), Id::ED448);
    assert_eq!(
        fs::read_to_string(dirs.cfg.join("fingerprint")).unwrap(),
        fingerprint
    );
}

#[test]
fn cert_without_ca_key_fails() {
    let dirs = initialized(&[]);
    fs::remove_file(dirs.cfg.join("ca.key")).unwrap();
    let result = run(&dirs, &["cert"], "");
    assert_eq!(result.code, 1);
    assert!(result.stderr.contains("ca.key"), "{}", result.stderr);
}

#[test]
fn commands_need_the_config() {
    let dirs = dirs();
    let ini = ini_path(&dirs).display().to_string();
    for command in ["start", "cert"] {
        let result = run(&dirs, &[command], "");
        assert_eq!(result.code, 1);
        assert_eq!(
            result.stdout,
            format!("Error: server is not initialized ({ini} does not exist).\nRun `smp-server init`.\n")
        );
    }
    let result = run(&dirs, &["journal", "delete"], "");
    assert_eq!(result.code, 1);
    assert!(result
        .stdout
        .starts_with("Error: server is not initialized"));
}

#[test]
fn invalid_ini_value_names_file_section_and_key() {
    let dirs = initialized(&["--disable-web"]);
    let ini = fs::read_to_string(ini_path(&dirs)).unwrap();
    fs::write(
        ini_path(&dirs),
        ini.replace("log_tls_errors = off", "log_tls_errors = sometimes"),
    )
    .unwrap();
    let result = run(&dirs, &["start"], "");
    assert_eq!(result.code, 1);
    assert_eq!(result.stdout, "");
    let path = ini_path(&dirs).display().to_string();
    assert_eq!(
        result.stderr,
        format!("smp-server: {path}: invalid INI setting [TRANSPORT] log_tls_errors = \"sometimes\", expected on or off\n")
    );
    let ini = ini.replace("port = 5223,443\n", "");
    fs::write(ini_path(&dirs), ini).unwrap();
    let result = run(&dirs, &["start"], "");
    assert_eq!(result.code, 1);
    assert_eq!(
        result.stderr,
        format!("smp-server: {path}: no key port in section [TRANSPORT]\n")
    );
}

#[test]
fn maintenance_start_with_rts_arguments_prints_startup_lines() {
    let dirs = initialized(&["--disable-web", "--no-password", "--source-code"]);
    let result = run(&dirs, &["start", "+RTS", "-N", "-RTS", "--maintenance"], "");
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    let fingerprint = fs::read_to_string(dirs.cfg.join("fingerprint")).unwrap();
    let fingerprint = fingerprint.trim_end();
    let store_log = dirs.log.join("smp-server-store.log").display().to_string();
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert!(lines[0].starts_with("SMP server v6.5.5.0 / "));
    assert_eq!(
        &lines[1..],
        &[
            format!("Fingerprint: {fingerprint}").as_str(),
            format!("Server address: smp://{fingerprint}@<hostnames>:5223,443").as_str(),
            "Server source code: https://github.com/simplex-chat/simplexmq",
            format!("Store log: {store_log}").as_str(),
            "Serving SMP protocol on port 5223 (TLS)...",
            "Serving SMP protocol on port 443 (TLS)...",
            "expiring messages after 21 days",
            "expiring clients inactive for 21600 seconds every 3600 seconds",
            "creating new queues allowed",
            "Server started in 'maintenance' mode, exiting",
        ]
    );
    // a lone +RTS consumes the rest of the arguments
    let result = run(&dirs, &["start", "--maintenance", "+RTS", "-N"], "");
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
}

#[test]
fn start_checks_fingerprint_and_web_credentials() {
    let dirs = initialized(&[]);
    // default init enables HTTPS for the info page: web.crt/web.key must be provided
    let result = run(&dirs, &["start", "-m"], "");
    assert_eq!(result.code, 1);
    let cert = dirs.cfg.join("web.crt").display().to_string();
    let key = dirs.cfg.join("web.key").display().to_string();
    assert!(
        result.stdout.contains(&format!(
            "----------\nError: no HTTPS credentials: {cert}, {key}\n"
        )),
        "{}",
        result.stdout
    );
    assert!(result
        .stdout
        .contains("Serving static site on port 443 (TLS)...\n"));

    fs::write(
        dirs.cfg.join("fingerprint"),
        "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=\n",
    )
    .unwrap();
    let result = run(&dirs, &["start"], "");
    assert_eq!(result.code, 1);
    assert_eq!(result.stdout, "Stored fingerprint is invalid.\n");
}

#[test]
fn start_reports_missing_tls_files() {
    let dirs = initialized(&["--disable-web"]);
    fs::remove_file(dirs.cfg.join("server.key")).unwrap();
    let result = run(&dirs, &["start", "-m"], "");
    assert_eq!(result.code, 1);
    let key = dirs.cfg.join("server.key").display().to_string();
    assert!(
        result
            .stdout
            .ends_with(&format!("----------\nError: no SMP credentials: {key}\n")),
        "{}",
        result.stdout
    );
}

#[test]
fn version_help_and_unsupported_storage() {
    let dirs = dirs();
    let result = run(&dirs, &["-v"], "");
    assert_eq!(result.code, 0);
    assert!(result.stdout.starts_with("SMP server v6.5.5.0 / "));
    assert_eq!(result.stdout.lines().count(), 1);
    let result = run(&dirs, &["--version", "+RTS", "-N", "-RTS"], "");
    assert_eq!(result.code, 0);
    let result = run(&dirs, &[], "");
    assert_eq!(result.code, 1);
    assert!(result.stderr.contains("init"));
    let result = run(&dirs, &["init", "--help"], "");
    assert_eq!(result.code, 0);
    assert!(result.stdout.contains("--sign-algorithm <ALG>"));
    assert!(result.stdout.contains("[default: ED448]"));
    let result = run(&dirs, &["start", "--no-such-option"], "");
    assert_eq!(result.code, 1);
    let result = run(&dirs, &["database", "import", "--table", "queues"], "");
    assert_eq!(result.code, 1);
    assert_eq!(
        result.stdout,
        "Error: server binary is compiled without support for PostgreSQL database.\nPlease download `smp-server-postgres` or re-compile with `cabal build -fserver_postgres`.\n"
    );
}

#[test]
fn memory_storage_refuses_a_journal_directory() {
    let dirs = initialized(&["--disable-web"]);
    fs::create_dir_all(dirs.log.join("messages")).unwrap();
    let result = run(&dirs, &["start", "-m"], "");
    assert_eq!(result.code, 1);
    let journal = dirs.log.join("messages").display().to_string();
    assert!(result.stdout.ends_with(&format!(
        "Error: store_messages is `memory` with {journal} directory present.\nSet store_messages to `journal` or use `smp-server journal import` to migrate.\n"
    )));
    // journal delete removes it after confirmation (needs the store log file)
    fs::write(dirs.log.join("smp-server-store.log"), "").unwrap();
    let result = run(&dirs, &["journal", "delete"], "Y\n");
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    assert!(result
        .stdout
        .ends_with(&format!("Deleted all messages in journal {journal}\n")));
    assert!(!dirs.log.join("messages").exists());
}
