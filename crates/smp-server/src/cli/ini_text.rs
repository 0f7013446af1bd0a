//! The `smp-server.ini` text that `init` writes: the same sections, keys, values, comment lines
//! and commented-out keys as the reference's `Init.iniFileContent` / `informationIniContent` /
//! `iniDbOpts`, so that operators' files and tooling see the same file.

use std::path::Path;

use smp_server::config::{
    BasicAuth, HostingType, SocksProxy, DEFAULT_DB_CONNECTION, DEFAULT_DB_POOL_SIZE,
    DEFAULT_DB_SCHEMA, DEFAULT_DELETED_TTL_DAYS, DEFAULT_MESSAGE_EXPIRATION_DAYS,
    DEFAULT_NOTIFICATION_EXPIRATION_HOURS, DEFAULT_PROXY_CLIENT_CONCURRENCY,
};

use super::args::DEFAULT_CONTROL_PORT;

/// Placeholder written (commented out) when there is no queue-creation password.
const NO_PASSWORD: &str = "password to create new queues and forward messages (any printable ASCII characters without whitespace, '@', ':' and '/')";

/// Everything of the init choices that shapes the file.
#[derive(Debug, Clone)]
pub struct IniChoices<'a> {
    pub store_log: bool,
    pub db_connection: &'a str,
    pub db_schema: &'a str,
    pub db_pool_size: i64,
    pub log_stats: bool,
    pub host: &'a str,
    pub create_password: Option<&'a BasicAuth>,
    /// (admin, user) passwords when the control port is enabled.
    pub control_port_passwords: Option<(&'a str, &'a str)>,
    pub control_port: Option<u16>,
    pub socks_proxy: Option<&'a SocksProxy>,
    pub own_domains: Option<&'a [String]>,
    pub source_code: Option<&'a str>,
    pub server_country: Option<&'a str>,
    /// (name, country)
    pub operator: Option<(&'a str, Option<&'a str>)>,
    pub website: Option<&'a str>,
    pub hosting: Option<(&'a str, Option<&'a str>)>,
    pub hosting_type: Option<HostingType>,
    pub web_static_path: &'a str,
    pub disable_web: bool,
}

/// `# ` when the key is written commented out (`Init.optDisabled'`).
fn disabled(commented: bool) -> &'static str {
    if commented {
        "# "
    } else {
        ""
    }
}

fn on_off(value: bool) -> &'static str {
    if value {
        "on"
    } else {
        "off"
    }
}

/// The whole file (`Init.iniFileContent`).
pub fn ini_file_content(cfg_dir: &Path, choices: &IniChoices<'_>) -> String {
    let mut text = information_content(choices);
    let store_log = on_off(choices.store_log);
    text.push_str(
        "[STORE_LOG]\n\
         # The server uses memory or PostgreSQL database for persisting queue records.\n\
         # Use `enable = on` to use append-only log to preserve and restore queue records on restart.\n\
         # Log is compacted on start (deleted objects are removed).\n",
    );
    text.push_str(&format!("enable = {store_log}\n\n"));
    text.push_str(
        "# Queue storage mode: `memory` or `database` (to store queue records in PostgreSQL database).\n\
         # `memory` - in-memory persistence, with optional append-only log (`enable = on`).\n\
         # `database`- PostgreSQL databass (requires `store_messages = journal`).\n\
         store_queues = memory\n\n\
         # Database connection settings for PostgreSQL database (`store_queues = database`).\n",
    );
    text.push_str(&db_options(choices));
    text.push_str(
        "# Write database changes to store log file\n\
         # db_store_log = off\n\n\
         # Time to retain deleted queues in the database, days.\n",
    );
    text.push_str(&format!(
        "# db_deleted_ttl = {DEFAULT_DELETED_TTL_DAYS}\n\n"
    ));
    text.push_str(
        "# Message storage mode: `memory` or `journal`.\n\
         store_messages = memory\n\n\
         # When store_messages is `memory`, undelivered messages are optionally saved and restored\n\
         # when the server restarts, they are preserved in the .bak file until the next restart.\n",
    );
    text.push_str(&format!("restore_messages = {store_log}\n\n"));
    text.push_str("# Messages and notifications expiration periods.\n");
    text.push_str(&format!(
        "expire_messages_days = {DEFAULT_MESSAGE_EXPIRATION_DAYS}\n"
    ));
    text.push_str("expire_messages_on_start = on\nexpire_messages_on_send = off\n");
    text.push_str(&format!(
        "expire_ntfs_hours = {DEFAULT_NOTIFICATION_EXPIRATION_HOURS}\n\n"
    ));
    text.push_str("# Log daily server statistics to CSV file\n");
    text.push_str(&format!("log_stats = {}\n\n", on_off(choices.log_stats)));
    text.push_str(
        "# Log interval for real-time Prometheus metrics\n\
         # prometheus_interval = 60\n\n\
         [AUTH]\n\
         # Set new_queues option to off to completely prohibit creating new messaging queues.\n\
         # This can be useful when you want to decommission the server, but not all connections are switched yet.\n\
         new_queues = on\n\n\
         # Use create_password option to enable basic auth to create new messaging queues.\n\
         # The password should be used as part of server address in client configuration:\n\
         # smp://fingerprint:password@host1,host2\n\
         # The password will not be shared with the connecting contacts, you must share it only\n\
         # with the users who you want to allow creating messaging queues on your server.\n",
    );
    text.push_str(&format!(
        "{}create_password = {}\n\n",
        disabled(choices.create_password.is_none()),
        choices
            .create_password
            .map_or(NO_PASSWORD, BasicAuth::as_str)
    ));
    let control = choices.control_port_passwords;
    let control_disabled = disabled(control.is_none());
    text.push_str(&format!(
        "{control_disabled}control_port_admin_password = {}\n",
        control.map_or("", |(admin, _)| admin)
    ));
    text.push_str(&format!(
        "{control_disabled}control_port_user_password = {}\n\n",
        control.map_or("", |(_, user)| user)
    ));
    text.push_str(
        "# The limit for queues that can be blocked via control port per day, resets at 0:00 UTC.\n\
         # Set to 0 to disable limit, to -1 to prohibit blocking. Default is 20.\n\
         # daily_block_queue_quota = 20\n\n\
         [TRANSPORT]\n\
         # Host is only used to print server address on start.\n\
         # You can specify multiple server ports.\n",
    );
    text.push_str(&format!("host = {}\n", choices.host));
    text.push_str("port = 5223,443\n");
    text.push_str(
        "log_tls_errors = off\n\n\
         # Use `websockets = 443` to run websockets server in addition to plain TLS.\n\
         # This option is deprecated and should be used for testing only.\n\
         # , port 443 should be specified in port above\n\
         websockets = off\n",
    );
    text.push_str(&format!(
        "{}control_port = {}",
        disabled(choices.control_port.is_none()),
        choices.control_port.unwrap_or(DEFAULT_CONTROL_PORT)
    ));
    text.push_str(
        "\n\n[PROXY]\n\
         # Network configuration for SMP proxy client.\n\
         # `host_mode` can be 'public' (default) or 'onion'.\n\
         # It defines prefferred hostname for destination servers with multiple hostnames.\n\
         # host_mode = public\n\
         # required_host_mode = off\n\n\
         # The domain suffixes of the relays you operate (space-separated) to count as separate proxy statistics.\n",
    );
    text.push_str(&format!(
        "{}own_server_domains = {}",
        disabled(choices.own_domains.is_none()),
        choices.own_domains.map(|d| d.join(",")).unwrap_or_default()
    ));
    text.push_str(
        "\n\n# SOCKS proxy port for forwarding messages to destination servers.\n\
         # You may need a separate instance of SOCKS proxy for incoming single-hop requests.\n",
    );
    text.push_str(&format!(
        "{}socks_proxy = {}",
        disabled(choices.socks_proxy.is_none()),
        choices
            .socks_proxy
            .map_or_else(|| "localhost:9050".to_string(), SocksProxy::to_string)
    ));
    text.push_str(
        "\n\n# `socks_mode` can be 'onion' for SOCKS proxy to be used for .onion destination hosts only (default)\n\
         # or 'always' to be used for all destination hosts (can be used if it is an .onion server).\n\
         # socks_mode = onion\n\n\
         # Limit number of threads a client can spawn to process proxy commands in parrallel.\n",
    );
    text.push_str(&format!(
        "# client_concurrency = {DEFAULT_PROXY_CLIENT_CONCURRENCY}"
    ));
    text.push_str(
        "\n\n[INACTIVE_CLIENTS]\n\
         # TTL and interval to check inactive clients\n\
         disconnect = on\n",
    );
    text.push_str("ttl = 21600\ncheck_interval = 3600");
    text.push_str(
        "\n\n[WEB]\n\
         # Set path to generate static mini-site for server information and qr codes/links\n",
    );
    text.push_str(&format!("static_path = {}\n\n", choices.web_static_path));
    text.push_str(
        "# Run an embedded server on this port\n\
         # Onion sites can use any port and register it in the hidden service config.\n\
         # Running on a port 80 may require setting process capabilities.\n\
         # http = 8000\n\n\
         # You can run an embedded TLS web server too if you provide port and cert and key files.\n\
         # Not required for running relay on onion address.\n",
    );
    let web_disabled = disabled(choices.disable_web);
    text.push_str(&format!("{web_disabled}https = 443\n"));
    text.push_str(&format!(
        "{web_disabled}cert = {}\n",
        cfg_dir.join("web.crt").display()
    ));
    text.push_str(&format!(
        "{web_disabled}key = {}\n",
        cfg_dir.join("web.key").display()
    ));
    text
}

/// `Init.iniDbOpts`: each line is uncommented only when it differs from the default.
fn db_options(choices: &IniChoices<'_>) -> String {
    format!(
        "{}db_connection = {}\n{}db_schema = {}\n{}db_pool_size = {}\n\n",
        disabled(choices.db_connection == DEFAULT_DB_CONNECTION),
        choices.db_connection,
        disabled(choices.db_schema == DEFAULT_DB_SCHEMA),
        choices.db_schema,
        disabled(choices.db_pool_size == DEFAULT_DB_POOL_SIZE),
        choices.db_pool_size,
    )
}

/// `[INFORMATION]` (`Init.informationIniContent`).
fn information_content(choices: &IniChoices<'_>) -> String {
    let mut text = String::from(
        "[INFORMATION]\n\
         # AGPLv3 license requires that you make any source code modifications\n\
         # available to the end users of the server.\n\
         # LICENSE: https://github.com/simplex-chat/simplexmq/blob/stable/LICENSE\n\
         # Include correct source code URI in case the server source code is modified in any way.\n\
         # If any other information fields are present, source code property also MUST be present.\n\n",
    );
    text.push_str(&format!(
        "{}source_code = {}",
        disabled(choices.source_code.is_none()),
        choices.source_code.unwrap_or("URI")
    ));
    text.push_str(
        "\n\n# Declaring all below information is optional, any of these fields can be omitted.\n\n\
         # Server usage conditions and amendments.\n\
         # It is recommended to use standard conditions with any amendments in a separate document.\n\
         # usage_conditions = https://github.com/simplex-chat/simplex-chat/blob/stable/PRIVACY.md\n\
         # condition_amendments = link\n\n\
         # Server location and operator.\n",
    );
    text.push_str(&country_line("server", choices.server_country));
    text.push_str(&entity_lines("operator", choices.operator));
    text.push_str(&format!(
        "{}website = {}",
        disabled(choices.website.is_none()),
        choices.website.unwrap_or("")
    ));
    text.push_str(
        "\n\n# Administrative contacts.\n\
         # admin_simplex = SimpleX address\n\
         # admin_email =\n\
         # admin_pgp =\n\
         # admin_pgp_fingerprint =\n\n\
         # Contacts for complaints and feedback.\n\
         # complaints_simplex = SimpleX address\n\
         # complaints_email =\n\
         # complaints_pgp =\n\
         # complaints_pgp_fingerprint =\n\n\
         # Hosting provider.\n",
    );
    text.push_str(&entity_lines("hosting", choices.hosting));
    text.push_str("\n# Hosting type can be `virtual`, `dedicated`, `colocation`, `owned`\n");
    text.push_str(&format!(
        "hosting_type = {}\n\n",
        choices.hosting_type.map_or("virtual", HostingType::name)
    ));
    text
}

fn country_line(field: &str, country: Option<&str>) -> String {
    format!(
        "{}{field}_country = {}\n",
        disabled(country.is_none()),
        country.unwrap_or("ISO-3166 2-letter code")
    )
}

fn entity_lines(field: &str, entity: Option<(&str, Option<&str>)>) -> String {
    format!(
        "{}{field} = {}\n{}",
        disabled(entity.is_none()),
        entity.map_or("entity (organization or person name)", |(name, _)| name),
        country_line(field, entity.and_then(|(_, country)| country))
    )
}

#[cfg(test)]
#[path = "ini_text_tests.rs"]
mod tests;
