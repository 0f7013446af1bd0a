//! Golden text of `init -y` with default options (`Init.iniFileContent`), and the option-driven
//! variations.

use super::*;

/// `smp-server init -y` with default options, CFG = /etc/opt/simplex, LOG = /var/opt/simplex and
/// the password `PASSWORD` (the reference writes a random one).
const DEFAULT_FILE: &str = r#"[INFORMATION]
# AGPLv3 license requires that you make any source code modifications
# available to the end users of the server.
# LICENSE: https://github.com/simplex-chat/simplexmq/blob/stable/LICENSE
# Include correct source code URI in case the server source code is modified in any way.
# If any other information fields are present, source code property also MUST be present.

# source_code = URI

# Declaring all below information is optional, any of these fields can be omitted.

# Server usage conditions and amendments.
# It is recommended to use standard conditions with any amendments in a separate document.
# usage_conditions = https://github.com/simplex-chat/simplex-chat/blob/stable/PRIVACY.md
# condition_amendments = link

# Server location and operator.
# server_country = ISO-3166 2-letter code
# operator = entity (organization or person name)
# operator_country = ISO-3166 2-letter code
# website = 

# Administrative contacts.
# admin_simplex = SimpleX address
# admin_email =
# admin_pgp =
# admin_pgp_fingerprint =

# Contacts for complaints and feedback.
# complaints_simplex = SimpleX address
# complaints_email =
# complaints_pgp =
# complaints_pgp_fingerprint =

# Hosting provider.
# hosting = entity (organization or person name)
# hosting_country = ISO-3166 2-letter code

# Hosting type can be `virtual`, `dedicated`, `colocation`, `owned`
hosting_type = virtual

[STORE_LOG]
# The server uses memory or PostgreSQL database for persisting queue records.
# Use `enable = on` to use append-only log to preserve and restore queue records on restart.
# Log is compacted on start (deleted objects are removed).
enable = on

# Queue storage mode: `memory` or `database` (to store queue records in PostgreSQL database).
# `memory` - in-memory persistence, with optional append-only log (`enable = on`).
# `database`- PostgreSQL databass (requires `store_messages = journal`).
store_queues = memory

# Database connection settings for PostgreSQL database (`store_queues = database`).
# db_connection = postgresql://smp@/smp_server_store
# db_schema = smp_server
# db_pool_size = 10

# Write database changes to store log file
# db_store_log = off

# Time to retain deleted queues in the database, days.
# db_deleted_ttl = 21

# Message storage mode: `memory` or `journal`.
store_messages = memory

# When store_messages is `memory`, undelivered messages are optionally saved and restored
# when the server restarts, they are preserved in the .bak file until the next restart.
restore_messages = on

# Messages and notifications expiration periods.
expire_messages_days = 21
expire_messages_on_start = on
expire_messages_on_send = off
expire_ntfs_hours = 24

# Log daily server statistics to CSV file
log_stats = off

# Log interval for real-time Prometheus metrics
# prometheus_interval = 60

[AUTH]
# Set new_queues option to off to completely prohibit creating new messaging queues.
# This can be useful when you want to decommission the server, but not all connections are switched yet.
new_queues = on

# Use create_password option to enable basic auth to create new messaging queues.
# The password should be used as part of server address in client configuration:
# smp://fingerprint:password@host1,host2
# The password will not be shared with the connecting contacts, you must share it only
# with the users who you want to allow creating messaging queues on your server.
create_password = PASSWORD

# control_port_admin_password = 
# control_port_user_password = 

# The limit for queues that can be blocked via control port per day, resets at 0:00 UTC.
# Set to 0 to disable limit, to -1 to prohibit blocking. Default is 20.
# daily_block_queue_quota = 20

[TRANSPORT]
# Host is only used to print server address on start.
# You can specify multiple server ports.
host = <hostnames>
port = 5223,443
log_tls_errors = off

# Use `websockets = 443` to run websockets server in addition to plain TLS.
# This option is deprecated and should be used for testing only.
# , port 443 should be specified in port above
websockets = off
# control_port = 5224

[PROXY]
# Network configuration for SMP proxy client.
# `host_mode` can be 'public' (default) or 'onion'.
# It defines prefferred hostname for destination servers with multiple hostnames.
# host_mode = public
# required_host_mode = off

# The domain suffixes of the relays you operate (space-separated) to count as separate proxy statistics.
# own_server_domains = 

# SOCKS proxy port for forwarding messages to destination servers.
# You may need a separate instance of SOCKS proxy for incoming single-hop requests.
# socks_proxy = localhost:9050

# `socks_mode` can be 'onion' for SOCKS proxy to be used for .onion destination hosts only (default)
# or 'always' to be used for all destination hosts (can be used if it is an .onion server).
# socks_mode = onion

# Limit number of threads a client can spawn to process proxy commands in parrallel.
# client_concurrency = 32

[INACTIVE_CLIENTS]
# TTL and interval to check inactive clients
disconnect = on
ttl = 21600
check_interval = 3600

[WEB]
# Set path to generate static mini-site for server information and qr codes/links
static_path = /var/opt/simplex/www

# Run an embedded server on this port
# Onion sites can use any port and register it in the hidden service config.
# Running on a port 80 may require setting process capabilities.
# http = 8000

# You can run an embedded TLS web server too if you provide port and cert and key files.
# Not required for running relay on onion address.
https = 443
cert = /etc/opt/simplex/web.crt
key = /etc/opt/simplex/web.key
"#;

fn default_choices(password: &BasicAuth) -> IniChoices<'_> {
    IniChoices {
        store_log: true,
        db_connection: DEFAULT_DB_CONNECTION,
        db_schema: DEFAULT_DB_SCHEMA,
        db_pool_size: DEFAULT_DB_POOL_SIZE,
        log_stats: false,
        host: "<hostnames>",
        create_password: Some(password),
        control_port_passwords: None,
        control_port: None,
        socks_proxy: None,
        own_domains: None,
        source_code: None,
        server_country: None,
        operator: None,
        website: None,
        hosting: None,
        hosting_type: None,
        web_static_path: "/var/opt/simplex/www",
        disable_web: false,
    }
}

#[test]
fn default_file_is_byte_exact() {
    let password = BasicAuth::parse("PASSWORD").unwrap();
    let text = ini_file_content(Path::new("/etc/opt/simplex"), &default_choices(&password));
    for (number, (actual, expected)) in text.lines().zip(DEFAULT_FILE.lines()).enumerate() {
        assert_eq!(actual, expected, "line {}", number + 1);
    }
    assert_eq!(text, DEFAULT_FILE);
}

#[test]
fn option_driven_lines() {
    let password = BasicAuth::parse("PASSWORD").unwrap();
    let proxy = SocksProxy::default_proxy();
    let domains = vec!["a.example.com".to_string(), "b.example.com".to_string()];
    let choices = IniChoices {
        store_log: false,
        db_connection: "postgresql://other@/db",
        db_pool_size: 4,
        log_stats: true,
        host: "smp.example.com",
        create_password: None,
        control_port_passwords: Some(("admin-pw", "user-pw")),
        control_port: Some(5225),
        socks_proxy: Some(&proxy),
        own_domains: Some(&domains),
        source_code: Some("https://github.com/simplex-chat/simplexmq"),
        server_country: Some("DE"),
        operator: Some(("Example Ltd", Some("GB"))),
        website: Some("https://example.com"),
        hosting: Some(("Hoster", None)),
        hosting_type: Some(HostingType::Dedicated),
        disable_web: true,
        ..default_choices(&password)
    };
    let text = ini_file_content(Path::new("/cfg"), &choices);
    for line in [
        "source_code = https://github.com/simplex-chat/simplexmq\n",
        "server_country = DE\n",
        "operator = Example Ltd\noperator_country = GB\nwebsite = https://example.com\n",
        "hosting = Hoster\n# hosting_country = ISO-3166 2-letter code\n",
        "hosting_type = dedicated\n",
        "\nenable = off\n",
        "restore_messages = off\n",
        "db_connection = postgresql://other@/db\n# db_schema = smp_server\ndb_pool_size = 4\n",
        "log_stats = on\n",
        "# create_password = password to create new queues and forward messages (any printable ASCII characters without whitespace, '@', ':' and '/')\n",
        "\ncontrol_port_admin_password = admin-pw\ncontrol_port_user_password = user-pw\n",
        "websockets = off\ncontrol_port = 5225\n",
        "host = smp.example.com\n",
        "\nown_server_domains = a.example.com,b.example.com\n",
        "\nsocks_proxy = 127.0.0.1:9050\n",
        "# https = 443\n# cert = /cfg/web.crt\n# key = /cfg/web.key\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let config = smp_server::config::Config::parse(&text).unwrap();
    assert_eq!(config.transport.control_port, Some(5225));
    assert!(!config.store.store_log);
    assert!(config.store.log_stats);
    assert_eq!(config.web.https, None);
    assert_eq!(config.auth.create_password, None);
}
