//! `smp-server init` end to end: the real binary in temporary directories (env overrides).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use common::cli::{common_name, key_id, run, Dirs};
use openssl::pkey::Id;
use openssl::x509::X509;
use sha2::Digest;

fn dirs() -> Dirs {
    Dirs::new("etc/opt/simplex", "var/opt/simplex")
}

/// Fingerprint computed independently: SHA-256 of the DER of ca.crt, base64url with padding.
fn fingerprint_of(cfg: &Path) -> String {
    let ca = X509::from_pem(&fs::read(cfg.join("ca.crt")).unwrap()).unwrap();
    let digest = sha2::Sha256::digest(ca.to_der().unwrap());
    base64::engine::general_purpose::URL_SAFE.encode(digest)
}

fn ini_value(ini: &str, key: &str) -> Option<String> {
    ini.lines()
        .find_map(|line| line.strip_prefix(&format!("{key} = ")))
        .map(str::to_string)
}

#[test]
fn init_yes_with_defaults() {
    let dirs = dirs();
    let result = run(&dirs, &["init", "-y"], "");
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    for file in [
        "ca.key",
        "ca.crt",
        "server.key",
        "server.crt",
        "fingerprint",
        "smp-server.ini",
    ] {
        assert!(dirs.cfg.join(file).is_file(), "{file}");
    }
    assert!(dirs.log.is_dir());
    for key in ["ca.key", "server.key"] {
        let mode = fs::metadata(dirs.cfg.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{key} must be owner-only");
        assert_eq!(key_id(&dirs.cfg.join(key)), Id::ED448);
    }
    let ca = X509::from_pem(&fs::read(dirs.cfg.join("ca.crt")).unwrap()).unwrap();
    let server = X509::from_pem(&fs::read(dirs.cfg.join("server.crt")).unwrap()).unwrap();
    assert_eq!(common_name(&ca), "SMP server CA");
    assert_eq!(common_name(&server), "127.0.0.1");
    assert!(server.verify(&ca.public_key().unwrap()).unwrap());

    let fingerprint = fingerprint_of(&dirs.cfg);
    assert_eq!(
        fs::read_to_string(dirs.cfg.join("fingerprint")).unwrap(),
        format!("{fingerprint}\n")
    );
    let ini = fs::read_to_string(dirs.cfg.join("smp-server.ini")).unwrap();
    let password = ini_value(&ini, "create_password").unwrap();
    assert_eq!(password.len(), 44);
    assert!(password.ends_with('='));
    assert_eq!(ini_value(&ini, "enable").as_deref(), Some("on"));
    assert_eq!(ini_value(&ini, "host").as_deref(), Some("<hostnames>"));
    assert_eq!(
        ini_value(&ini, "static_path"),
        Some(dirs.log.join("www").display().to_string())
    );
    assert_eq!(
        ini_value(&ini, "cert"),
        Some(dirs.cfg.join("web.crt").display().to_string())
    );
    assert!(ini.contains("\n# source_code = URI\n"));
    assert!(ini.contains("\n# control_port = 5224\n"));
    assert!(ini.ends_with(&format!("key = {}\n", dirs.cfg.join("web.key").display())));

    let ini_path = dirs.cfg.join("smp-server.ini").display().to_string();
    let ca_key = dirs.cfg.join("ca.key").display().to_string();
    let expected = [
        format!("Server initialized, please provide additional server information in {ini_path}."),
        "Run `smp-server start` to start server.".to_string(),
        "----------".to_string(),
        "You should store CA private key securely and delete it from the server.".to_string(),
        "If server TLS credential is compromised this key can be used to sign a new one, keeping the same server identity and established connections.".to_string(),
        "CA private key location:".to_string(),
        ca_key,
        "----------".to_string(),
    ];
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(&lines[..expected.len()], &expected);
    assert!(
        lines[8].starts_with("SMP server v6.5.5.0 / "),
        "{}",
        lines[8]
    );
    assert_eq!(lines[9], format!("Fingerprint: {fingerprint}"));
    assert_eq!(
        lines[10],
        format!("Server address: smp://{fingerprint}:{password}@<hostnames>")
    );
    assert_eq!(lines[11], "Warning: server source code is not specified.");
    assert_eq!(
        lines[12],
        "Add 'source_code' property to [INFORMATION] section of INI file."
    );
    // then the address as a QR code
    assert!(result.stdout.contains('█'));
}

#[test]
fn init_yes_with_options() {
    let dirs = dirs();
    let result = run(
        &dirs,
        &[
            "init",
            "--yes",
            "-a",
            "ED25519",
            "--ip",
            "10.1.2.3",
            "--no-password",
            "--disable-store-log",
            "--daily-stats",
            "--control-port",
            "--socks-proxy",
            "--own-domains",
            "example.com",
            "--source-code",
            "--operator",
            "Example Ltd",
            "--operator-country",
            "gb",
            "--hosting-type",
            "dedicated",
            "--server-country",
            "de",
            "--web-path",
            "/srv/www",
            "--disable-web",
            "--pool-size",
            "4",
        ],
        "",
    );
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    assert_eq!(key_id(&dirs.cfg.join("ca.key")), Id::ED25519);
    assert_eq!(key_id(&dirs.cfg.join("server.key")), Id::ED25519);
    let server = X509::from_pem(&fs::read(dirs.cfg.join("server.crt")).unwrap()).unwrap();
    assert_eq!(common_name(&server), "10.1.2.3");
    let ini = fs::read_to_string(dirs.cfg.join("smp-server.ini")).unwrap();
    for line in [
        "\nsource_code = https://github.com/simplex-chat/simplexmq\n",
        "\nserver_country = DE\n",
        "\noperator = Example Ltd\noperator_country = GB\n",
        "\nhosting_type = dedicated\n",
        "\nenable = off\n",
        "\nrestore_messages = off\n",
        "\nlog_stats = on\n",
        "\ndb_pool_size = 4\n",
        "\n# create_password = password to create new queues",
        "\nhost = 10.1.2.3\n",
        "\ncontrol_port = 5224\n",
        "\nown_server_domains = example.com\n",
        "\nsocks_proxy = 127.0.0.1:9050\n",
        "\nstatic_path = /srv/www\n",
        "\n# https = 443\n",
    ] {
        assert!(ini.contains(line), "missing {line:?}");
    }
    let admin = ini_value(&ini, "control_port_admin_password").unwrap();
    let user = ini_value(&ini, "control_port_user_password").unwrap();
    assert_eq!(admin.len(), 24);
    assert_eq!(user.len(), 24);
    assert_ne!(admin, user);
    let fingerprint = fingerprint_of(&dirs.cfg);
    assert!(result
        .stdout
        .contains(&format!("Server address: smp://{fingerprint}@10.1.2.3\n")));
    assert!(result
        .stdout
        .contains("Server source code: https://github.com/simplex-chat/simplexmq\n"));
}

#[test]
fn init_with_fqdn_and_password() {
    let dirs = dirs();
    let result = run(
        &dirs,
        &[
            "init",
            "-y",
            "-n",
            "smp.example.com",
            "--password",
            "s3cret",
        ],
        "",
    );
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    let server = X509::from_pem(&fs::read(dirs.cfg.join("server.crt")).unwrap()).unwrap();
    assert_eq!(common_name(&server), "smp.example.com");
    let ini = fs::read_to_string(dirs.cfg.join("smp-server.ini")).unwrap();
    assert_eq!(ini_value(&ini, "host").as_deref(), Some("smp.example.com"));
    assert_eq!(
        ini_value(&ini, "create_password").as_deref(),
        Some("s3cret")
    );
    let fingerprint = fingerprint_of(&dirs.cfg);
    assert!(result.stdout.contains(&format!(
        "Server address: smp://{fingerprint}:s3cret@smp.example.com\n"
    )));
}

#[test]
fn interactive_init_reads_answers() {
    let dirs = dirs();
    let answers = "\nmaybe\nn\ny\nbad@password\ngood-password\nsmp.example.org\nftp://x\nhttps://example.com/src\n/srv/site\n";
    let result = run(&dirs, &["init"], answers);
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    let web = dirs.log.join("www").display().to_string();
    let expected_output = format!(
        "Use `smp-server init -h` for available options.\n\
         SMP server will be initialized (press Enter)\
         Enable store log to restore queues and messages on server restart (Yn): \
         Invalid input, please enter 'y' or 'n'\n\
         Enable store log to restore queues and messages on server restart (Yn): \
         Enable logging daily statistics (yN): \
         Require a password to create new messaging queues?\n\
         'r' for random (default), 'n' - no password (recommended for public servers), or enter password: \
         Invalid password. Only latin letters, digits and symbols other than '@' and ':' are allowed\n\
         Enter server FQDN or IP address for certificate (127.0.0.1): \
         Enter server source code URI (https://github.com/simplex-chat/simplexmq): \
         Invalid source code. URI should start from http:// or https://\n\
         Enter path to store generated server pages to show connection links ({web}): \
         Server initialized"
    );
    assert!(
        result.stdout.starts_with(&expected_output),
        "{}",
        result.stdout
    );
    let ini = fs::read_to_string(dirs.cfg.join("smp-server.ini")).unwrap();
    assert_eq!(ini_value(&ini, "enable").as_deref(), Some("off"));
    assert_eq!(ini_value(&ini, "log_stats").as_deref(), Some("on"));
    assert_eq!(
        ini_value(&ini, "create_password").as_deref(),
        Some("good-password")
    );
    assert_eq!(ini_value(&ini, "host").as_deref(), Some("smp.example.org"));
    assert_eq!(
        ini_value(&ini, "source_code").as_deref(),
        Some("https://example.com/src")
    );
    assert_eq!(ini_value(&ini, "static_path").as_deref(), Some("/srv/site"));
    assert!(result
        .stdout
        .contains("Server source code: https://example.com/src\n"));
}

#[test]
fn interactive_init_with_end_of_input_takes_defaults() {
    let dirs = dirs();
    let result = run(&dirs, &["init"], "");
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    let ini = fs::read_to_string(dirs.cfg.join("smp-server.ini")).unwrap();
    assert_eq!(ini_value(&ini, "enable").as_deref(), Some("on"));
    assert_eq!(ini_value(&ini, "log_stats").as_deref(), Some("off"));
    assert_eq!(ini_value(&ini, "create_password").unwrap().len(), 44);
    // interactive init always publishes the source code
    assert_eq!(
        ini_value(&ini, "source_code").as_deref(),
        Some("https://github.com/simplex-chat/simplexmq")
    );
}

#[test]
fn init_over_existing_config_is_refused() {
    let dirs = dirs();
    assert_eq!(run(&dirs, &["init", "-y"], "").code, 0);
    let fingerprint = fs::read_to_string(dirs.cfg.join("fingerprint")).unwrap();
    let result = run(&dirs, &["init", "-y"], "");
    assert_eq!(result.code, 1);
    let ini = dirs.cfg.join("smp-server.ini").display().to_string();
    assert_eq!(
        result.stdout,
        format!("Error: server is already initialized ({ini} exists).\nRun `smp-server start`.\n")
    );
    assert_eq!(
        fs::read_to_string(dirs.cfg.join("fingerprint")).unwrap(),
        fingerprint
    );
}

#[test]
fn init_replaces_stale_files_without_config() {
    let dirs = dirs();
    fs::create_dir_all(&dirs.cfg).unwrap();
    fs::create_dir_all(&dirs.log).unwrap();
    fs::write(dirs.cfg.join("stale.txt"), "x").unwrap();
    fs::write(dirs.log.join("smp-server-store.log"), "x").unwrap();
    let result = run(&dirs, &["init", "-y"], "");
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    assert!(!dirs.cfg.join("stale.txt").exists());
    assert!(!dirs.log.join("smp-server-store.log").exists());
    assert!(dirs.cfg.join("smp-server.ini").is_file());
    let leftovers: Vec<_> = fs::read_dir(&dirs.cfg)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn inconsistent_options_are_rejected_before_anything_is_written() {
    let dirs = dirs();
    let cases = [
        (
            vec!["init", "-y", "--operator", "X"],
            "Error: passing any server information requires passing --source-code\n",
        ),
        (
            vec!["init", "-y", "--source-code", "--operator-country", "GB"],
            "Error: passing --operator-country requires passing --operator\n",
        ),
        (
            vec!["init", "-y", "--source-code", "--hosting-country", "GB"],
            "Error: passing --hosting-country requires passing --hosting\n",
        ),
    ];
    for (arguments, message) in cases {
        let result = run(&dirs, &arguments, "");
        assert_eq!(result.code, 1);
        assert_eq!(result.stdout, message);
        assert!(!dirs.cfg.exists());
    }
    let result = run(&dirs, &["init", "-y", "--password", "a:b"], "");
    assert_eq!(result.code, 1);
    assert!(!result.stderr.is_empty());
    assert!(!dirs.cfg.exists());
}
