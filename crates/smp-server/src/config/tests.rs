//! Tests of `Config` typing: the file `init -y` writes, the seed-era file, defaults and errors.

use super::*;

/// The keys and values `init -y` writes with default options (comments omitted).
const INIT_DEFAULT: &str = "[INFORMATION]
# source_code = URI
hosting_type = virtual

[STORE_LOG]
enable = on
store_queues = memory
# db_connection = postgresql://smp@/smp_server_store
store_messages = memory
restore_messages = on
expire_messages_days = 21
expire_messages_on_start = on
expire_messages_on_send = off
expire_ntfs_hours = 24
log_stats = off
# prometheus_interval = 60

[AUTH]
new_queues = on
create_password = abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ=

# control_port_admin_password = 
# daily_block_queue_quota = 20

[TRANSPORT]
host = <hostnames>
port = 5223,443
log_tls_errors = off
websockets = off
# control_port = 5224

[PROXY]
# host_mode = public
# socks_proxy = localhost:9050

[INACTIVE_CLIENTS]
disconnect = on
ttl = 21600
check_interval = 3600

[WEB]
static_path = /var/opt/simplex/www
# http = 8000
https = 443
cert = /etc/opt/simplex/web.crt
key = /etc/opt/simplex/web.key
";

/// What a 2023 server wrote (spec §3.5).
const SEED_ERA: &str = "[STORE_LOG]
enable: on
restore_messages: on
expire_messages_days: 21
log_stats: off

[AUTH]
new_queues: on
create_password: secret

[TRANSPORT]
host: smp.example.com
port: 5223
log_tls_errors: off
websockets: off
# control_port: 5224

[INACTIVE_CLIENTS]
disconnect: off
# ttl: 21600
# check_interval: 3600
";

#[test]
fn init_default_file() {
    let config = Config::parse(INIT_DEFAULT).unwrap();
    assert_eq!(config.information, None);
    let store = &config.store;
    assert!(store.store_log);
    assert_eq!(store.queues, QueueStoreMode::Memory);
    assert_eq!(store.messages, MessageStoreMode::Memory);
    assert!(store.restore_messages);
    assert_eq!(store.message_ttl_seconds, 21 * 86_400);
    assert!(!store.expire_messages_on_send);
    assert!(store.expire_messages_on_start);
    assert_eq!(store.notification_ttl_seconds, 24 * 3_600);
    assert!(!store.log_stats);
    assert_eq!(store.prometheus_interval_seconds, None);
    assert!(!store.store_log_fsync);
    assert_eq!(store.db_connection, DEFAULT_DB_CONNECTION);
    assert_eq!(store.db_deleted_ttl_seconds, 21 * 86_400);
    assert!(config.auth.allow_new_queues);
    assert_eq!(
        config.auth.create_password.as_ref().map(BasicAuth::as_str),
        Some("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ=")
    );
    assert_eq!(config.auth.control_port_admin_password, None);
    assert_eq!(config.auth.daily_block_queue_quota, 20);
    let transport = &config.transport;
    assert_eq!(transport.host, "<hostnames>");
    assert_eq!(transport.port_text, "5223,443");
    assert_eq!(
        transport.ports,
        vec![
            TransportPort {
                port: 5223,
                kind: TransportKind::Tls,
                serves_web: false
            },
            TransportPort {
                port: 443,
                kind: TransportKind::Tls,
                serves_web: true
            },
        ]
    );
    assert_eq!(transport.control_port, None);
    assert!(transport.accept_service_credentials);
    assert_eq!(config.proxy.host_mode, HostMode::Public);
    assert_eq!(config.proxy.socks_proxy, None);
    assert_eq!(config.proxy.socks_mode, SocksMode::Onion);
    assert_eq!(config.proxy.client_concurrency, 32);
    assert_eq!(
        config.inactive_clients,
        Some(InactiveClientsConfig {
            ttl_seconds: 21_600,
            check_interval_seconds: 3_600
        })
    );
    assert_eq!(
        config.web.static_path.as_deref(),
        Some(Path::new("/var/opt/simplex/www"))
    );
    assert_eq!(config.web.http_port, None);
    assert_eq!(
        config.web.https,
        Some(WebHttps {
            port: 443,
            cert: PathBuf::from("/etc/opt/simplex/web.crt"),
            key: PathBuf::from("/etc/opt/simplex/web.key"),
        })
    );
}

#[test]
fn seed_era_file_reads_with_todays_defaults() {
    let config = Config::parse(SEED_ERA).unwrap();
    assert!(config.store.store_log);
    assert!(config.store.restore_messages);
    assert!(config.store.expire_messages_on_send);
    assert_eq!(config.store.queues, QueueStoreMode::Memory);
    assert_eq!(config.transport.host, "smp.example.com");
    assert_eq!(config.transport.ports.len(), 1);
    assert_eq!(config.transport.ports[0].port, 5223);
    assert_eq!(config.inactive_clients, None);
    assert_eq!(config.information, None);
    assert_eq!(config.web.static_path, None);
    assert_eq!(config.web.https, None);
    assert_eq!(
        config.auth.create_password.as_ref().map(BasicAuth::as_str),
        Some("secret")
    );
}

fn error_of(text: &str) -> String {
    Config::parse(text).unwrap_err().to_string()
}

const MINIMAL: &str = "[TRANSPORT]\nport = 5223\nwebsockets = off\n";

#[test]
fn minimal_file_defaults() {
    let config = Config::parse(MINIMAL).unwrap();
    assert!(!config.store.store_log);
    assert!(!config.store.restore_messages);
    assert!(!config.store.store_log_fsync);
    let huge = Config::parse(&format!(
        "{MINIMAL}[STORE_LOG]\nexpire_messages_days = 9223372036854775807\nexpire_ntfs_hours = 8103668653209337854\n"
    ))
    .unwrap();
    assert_eq!(huge.store.message_ttl_seconds, i64::MAX);
    assert_eq!(huge.store.notification_ttl_seconds, i64::MAX);
    let fsync = Config::parse(&format!("{MINIMAL}[STORE_LOG]\nstore_log_fsync = on\n")).unwrap();
    assert!(fsync.store.store_log_fsync);
    assert!(
        error_of(&format!("{MINIMAL}[STORE_LOG]\nstore_log_fsync = yes\n"))
            .contains("store_log_fsync")
    );
    assert_eq!(config.transport.host, "<hostnames>");
    assert_eq!(config.auth.create_password, None);
}

#[test]
fn mandatory_keys() {
    assert_eq!(
        error_of("[TRANSPORT]\nwebsockets = off\n"),
        "no key port in section [TRANSPORT]"
    );
    assert_eq!(
        error_of("[TRANSPORT]\nport = 5223\n"),
        "no key websockets in section [TRANSPORT]"
    );
    assert_eq!(
        error_of(&format!(
            "{MINIMAL}[INACTIVE_CLIENTS]\ndisconnect = on\nttl = 1\n"
        )),
        "no key check_interval in section [INACTIVE_CLIENTS]"
    );
}

#[test]
fn invalid_values_name_section_key_and_accepted_values() {
    let error = error_of(&format!("{MINIMAL}[STORE_LOG]\nenable = yes\n"));
    assert_eq!(
        error,
        "invalid INI setting [STORE_LOG] enable = \"yes\", expected on or off"
    );
    let error = error_of(&format!(
        "{MINIMAL}[STORE_LOG]\nexpire_messages_days = 3d\n"
    ));
    assert!(
        error.contains("[STORE_LOG] expire_messages_days"),
        "{error}"
    );
    assert!(error.contains("an integer"), "{error}");
    let error = error_of("[TRANSPORT]\nport = 5223,x\nwebsockets = off\n");
    assert!(error.contains("[TRANSPORT] port"), "{error}");
    let error = error_of(&format!("{MINIMAL}[AUTH]\ncreate_password = a@b\n"));
    assert!(error.contains("[AUTH] create_password"), "{error}");
    let error = error_of(&format!("{MINIMAL}[PROXY]\nhost_mode = tor\n"));
    assert!(error.contains("public or onion"), "{error}");
    let error = error_of(&format!("{MINIMAL}[PROXY]\nsocks_mode = x\n"));
    assert!(error.contains("onion or always"), "{error}");
    let error = error_of(&format!(
        "{MINIMAL}[INFORMATION]\nsource_code = https://x\nhosting_type = cloud\n"
    ));
    assert!(
        error.contains("virtual, dedicated, colocation or owned"),
        "{error}"
    );
    let error = error_of(&format!(
        "{MINIMAL}[INFORMATION]\nsource_code = https://x\nserver_country = GBR\n"
    ));
    assert!(
        error.contains("Use ISO3166 2-letter code for server_country"),
        "{error}"
    );
}

#[test]
fn storage_combinations() {
    let with = |queues: &str, messages: &str| {
        Config::parse(&format!(
            "{MINIMAL}[STORE_LOG]\nstore_queues = {queues}\nstore_messages = {messages}\n"
        ))
    };
    assert!(with("memory", "journal").is_ok());
    assert!(with("database", "journal").is_ok());
    assert!(with("database", "database").is_ok());
    assert_eq!(
        with("memory", "database").unwrap_err().to_string(),
        "Database and memory storage are not compatible."
    );
    assert_eq!(
        with("disk", "memory").unwrap_err().to_string(),
        "Invalid storage settings: store_queues: disk, store_messages: memory"
    );
}

#[test]
fn transports_and_web() {
    let config = Config::parse(
        "[TRANSPORT]\nport = 5223,443\nwebsockets = 443,8080\ncontrol_port = 5224\n\
         [WEB]\nhttps = 8443\nhttp = x\n",
    )
    .unwrap();
    let ports: Vec<(u16, TransportKind, bool)> = config
        .transport
        .ports
        .iter()
        .map(|p| (p.port, p.kind, p.serves_web))
        .collect();
    assert_eq!(
        ports,
        vec![
            (5223, TransportKind::Tls, false),
            (443, TransportKind::Tls, false),
            (8080, TransportKind::WebSockets, false)
        ]
    );
    assert_eq!(config.transport.control_port, Some(5224));
    // https without cert and key is not used; unparsable http counts as absent
    assert_eq!(config.web.https, None);
    assert_eq!(config.web.http_port, None);
    let config = Config::parse("[TRANSPORT]\nport = 5223\nwebsockets = on\n").unwrap();
    assert_eq!(config.transport.ports[1].port, 80);
}

#[test]
fn information_section() {
    let config = Config::parse(&format!(
        "{MINIMAL}[INFORMATION]\nsource_code = https://github.com/simplex-chat/simplexmq\n\
         operator = Example Ltd\noperator_country = gb\nhosting_type = dedicated\n\
         admin_email = admin@example.com\ncomplaints_pgp = https://k\n\
         usage_conditions = https://c\ncondition_amendments = https://a\n"
    ))
    .unwrap();
    let information = config.information.unwrap();
    assert_eq!(
        information.operator,
        Some(Entity {
            name: "Example Ltd".to_string(),
            country: Some("GB".to_string())
        })
    );
    assert_eq!(information.hosting_type, Some(HostingType::Dedicated));
    assert_eq!(
        information.admin_contacts.and_then(|c| c.email).as_deref(),
        Some("admin@example.com")
    );
    // a PGP key URI without fingerprint publishes nothing
    assert_eq!(information.complaints_contacts, None);
    assert_eq!(
        information.usage_conditions.map(|c| c.amendments),
        Some(Some("https://a".to_string()))
    );
}

#[test]
fn proxy_section() {
    let config = Config::parse(&format!(
        "{MINIMAL}[PROXY]\nsocks_proxy = 127.0.0.1:9050\nown_server_domains = a.com,b.com c.com\n\
         socks_mode = always\nhost_mode = onion\nclient_concurrency = 8\n"
    ))
    .unwrap();
    assert_eq!(
        config.proxy.socks_proxy.map(|p| p.to_string()).as_deref(),
        Some("127.0.0.1:9050")
    );
    assert_eq!(
        config.proxy.own_server_domains,
        vec!["a.com", "b.com", "c.com"]
    );
    assert_eq!(config.proxy.socks_mode, SocksMode::Always);
    assert_eq!(config.proxy.host_mode, HostMode::Onion);
    assert_eq!(config.proxy.client_concurrency, 8);
}
