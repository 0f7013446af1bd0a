//! `smp-server.ini` typed once at the edge: [`Ini`] text -> [`Config`] with the reference's
//! defaults (`Server.Main` binding `serverConfig`, `Server.CLI.iniTransports`,
//! `Server.Main.serverPublicInfo`). Files written by 2023 servers (`key: value`, fewer sections)
//! read with today's defaults.
//!
//! Every invalid value is a [`ConfigError`] naming the section, the key and what is accepted.

pub mod information;
pub mod ini;
pub mod values;

use std::path::{Path, PathBuf};

pub use information::{ContactAddress, Entity, HostingType, ServerInformation};
pub use ini::Ini;
pub use values::{BasicAuth, SocksProxy};

use values::{integer, on_off, password, port};

/// Name of the configuration file inside the configuration directory.
pub const INI_FILE: &str = "smp-server.ini";
/// Default message TTL in days (`Env.defMsgExpirationDays`).
pub const DEFAULT_MESSAGE_EXPIRATION_DAYS: i64 = 21;
/// Default pending-notification TTL in hours (`Env.defNtfExpirationHours`).
pub const DEFAULT_NOTIFICATION_EXPIRATION_HOURS: i64 = 24;
/// Default retention of deleted queue rows in the database, days (`Init.defaultDeletedTTL`).
pub const DEFAULT_DELETED_TTL_DAYS: i64 = 21;
/// Default daily quota of queues blocked through the control port.
pub const DEFAULT_DAILY_BLOCK_QUEUE_QUOTA: i64 = 20;
/// Default number of parallel proxy commands per client (`Env.defaultProxyClientConcurrency`).
pub const DEFAULT_PROXY_CLIENT_CONCURRENCY: i64 = 32;
/// Default PostgreSQL connection (`Init.defaultDBOpts`).
pub const DEFAULT_DB_CONNECTION: &str = "postgresql://smp@/smp_server_store";
pub const DEFAULT_DB_SCHEMA: &str = "smp_server";
pub const DEFAULT_DB_POOL_SIZE: i64 = 10;

/// A value in `smp-server.ini` that the server cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A mandatory key is absent (`CLI.strictIni`).
    #[error("no key {key} in section [{section}]")]
    Missing { section: String, key: String },
    /// A value outside what the key accepts.
    #[error("invalid INI setting [{section}] {key} = {value:?}, expected {expected}")]
    Invalid {
        section: String,
        key: String,
        value: String,
        expected: String,
    },
    /// `store_queues`/`store_messages` combination (`Server.Main` binding `readStoreType`).
    #[error("{0}")]
    Storage(String),
}

impl ConfigError {
    pub(crate) fn invalid(section: &str, key: &str, value: &str, expected: &str) -> ConfigError {
        ConfigError::Invalid {
            section: section.to_string(),
            key: key.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    fn missing(section: &str, key: &str) -> ConfigError {
        ConfigError::Missing {
            section: section.to_string(),
            key: key.to_string(),
        }
    }
}

type Result<T> = std::result::Result<T, ConfigError>;

/// Where queue records live (`store_queues`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueStoreMode {
    Memory,
    Database,
}

/// Where messages live (`store_messages`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStoreMode {
    Memory,
    Journal,
    Database,
}

/// Storage and expiration settings, `[STORE_LOG]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// `enable`: append-only queue store log (absent: off).
    pub store_log: bool,
    pub queues: QueueStoreMode,
    pub messages: MessageStoreMode,
    pub db_connection: String,
    pub db_schema: String,
    pub db_pool_size: i64,
    /// `db_store_log`: with database queues, also append changes to the store log.
    pub db_store_log: bool,
    /// `db_deleted_ttl`. The reference takes a present value as seconds (its default is 21 days).
    pub db_deleted_ttl_seconds: i64,
    /// `restore_messages`, defaulting to `enable`.
    pub restore_messages: bool,
    /// `expire_messages_days` x 86400.
    pub message_ttl_seconds: i64,
    pub expire_messages_on_start: bool,
    /// Absent means on, although `init` writes `off`.
    pub expire_messages_on_send: bool,
    /// `expire_ntfs_hours` x 3600.
    pub notification_ttl_seconds: i64,
    /// `log_stats`: daily CSV and persisted counters.
    pub log_stats: bool,
    /// `prometheus_interval` in seconds; unparsable counts as absent.
    pub prometheus_interval_seconds: Option<u64>,
    /// `store_log_fsync` (this server only, absent: off): fsync the store log after every
    /// record, so that acknowledged queue changes survive a power cut. Off is the reference's
    /// behaviour (each record is handed to the OS, never fsynced).
    pub store_log_fsync: bool,
}

/// `[AUTH]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// `new_queues` (absent: on).
    pub allow_new_queues: bool,
    /// `create_password`: needed to create queues and to use this server as a proxy.
    pub create_password: Option<BasicAuth>,
    pub control_port_admin_password: Option<BasicAuth>,
    pub control_port_user_password: Option<BasicAuth>,
    /// 0 = unlimited, negative = blocking forbidden.
    pub daily_block_queue_quota: i64,
}

/// Kind of listener on one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    Tls,
    WebSockets,
}

impl TransportKind {
    /// Name printed at start (`Transport.transportName`).
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Tls => "TLS",
            TransportKind::WebSockets => "WebSockets",
        }
    }
}

/// One listening port (`CLI.iniTransports`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportPort {
    pub port: u16,
    pub kind: TransportKind,
    /// The port is also `[WEB] https`: it serves the info page too (chosen by SNI).
    pub serves_web: bool,
}

/// `[TRANSPORT]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportConfig {
    /// `host`, verbatim (only printed); absent: `<hostnames>`.
    pub host: String,
    /// `port`, verbatim, as printed in the start-up address.
    pub port_text: String,
    /// SMP over TLS ports then WebSocket ports, in file order.
    pub ports: Vec<TransportPort>,
    pub log_tls_errors: bool,
    /// `control_port`, bound to 127.0.0.1.
    pub control_port: Option<u16>,
    /// `accept_service_credentials` (absent: on).
    pub accept_service_credentials: bool,
}

/// Preferred host of multi-host destinations (`host_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostMode {
    Public,
    Onion,
}

/// When the SOCKS proxy is used (`socks_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocksMode {
    Onion,
    Always,
}

/// `[PROXY]`: this server forwarding messages for clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    pub host_mode: HostMode,
    pub required_host_mode: bool,
    /// Space-separated in the reference; commas (as `init --own-domains` writes them) also split.
    pub own_server_domains: Vec<String>,
    pub socks_proxy: Option<SocksProxy>,
    pub socks_mode: SocksMode,
    pub client_concurrency: i64,
}

/// `[INACTIVE_CLIENTS]` when `disconnect = on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InactiveClientsConfig {
    pub ttl_seconds: i64,
    pub check_interval_seconds: i64,
}

/// HTTPS for the info page: used only when port, cert and key are all present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebHttps {
    pub port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `[WEB]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebConfig {
    pub static_path: Option<PathBuf>,
    pub http_port: Option<u16>,
    pub https: Option<WebHttps>,
}

/// The whole server configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `[INFORMATION]`, only when `source_code` is present.
    pub information: Option<ServerInformation>,
    pub store: StoreConfig,
    pub auth: AuthConfig,
    pub transport: TransportConfig,
    pub proxy: ProxyConfig,
    /// `None` when `disconnect` is off or absent.
    pub inactive_clients: Option<InactiveClientsConfig>,
    pub web: WebConfig,
}

/// Reads values of one section with the reference's typing rules.
struct Reader<'a> {
    ini: &'a Ini,
    section: &'static str,
}

impl<'a> Reader<'a> {
    fn new(ini: &'a Ini, section: &'static str) -> Reader<'a> {
        Reader { ini, section }
    }

    fn text(&self, key: &str) -> Option<&'a str> {
        self.ini.value(self.section, key)
    }

    fn required(&self, key: &str) -> Result<&'a str> {
        self.text(key)
            .ok_or_else(|| ConfigError::missing(self.section, key))
    }

    fn on_off(&self, key: &str, default: bool) -> Result<bool> {
        match self.text(key) {
            Some(value) => on_off(self.section, key, value),
            None => Ok(default),
        }
    }

    fn integer(&self, key: &str, default: i64) -> Result<i64> {
        match self.text(key) {
            Some(value) => integer(self.section, key, value),
            None => Ok(default),
        }
    }

    fn password(&self, key: &str) -> Result<Option<BasicAuth>> {
        self.text(key)
            .map(|value| password(self.section, key, value))
            .transpose()
    }

    fn lenient_port(&self, key: &str) -> Option<u16> {
        self.text(key).and_then(|value| value.parse().ok())
    }
}

impl Config {
    /// Types a parsed INI file.
    pub fn from_ini(ini: &Ini) -> Result<Config> {
        Ok(Config {
            information: information::from_ini(ini)?,
            store: store_config(ini)?,
            auth: auth_config(ini)?,
            transport: transport_config(ini)?,
            proxy: proxy_config(ini)?,
            inactive_clients: inactive_clients_config(ini)?,
            web: web_config(ini),
        })
    }

    /// Parses INI text.
    pub fn parse(text: &str) -> Result<Config> {
        Config::from_ini(&Ini::parse(text))
    }

    /// Reads and types `cfg_dir/smp-server.ini`; errors name the file.
    pub fn load(cfg_dir: &Path) -> std::result::Result<(Config, Ini), LoadError> {
        let path = cfg_dir.join(INI_FILE);
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| LoadError::Encoding(path.clone()))?;
        let ini = Ini::parse(&text);
        let config = Config::from_ini(&ini).map_err(|error| LoadError::Config { path, error })?;
        Ok((config, ini))
    }
}

/// Reading `smp-server.ini` failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: the file is not valid UTF-8", .0.display())]
    Encoding(PathBuf),
    #[error("{}: {error}", path.display())]
    Config { path: PathBuf, error: ConfigError },
}

fn store_config(ini: &Ini) -> Result<StoreConfig> {
    let store = Reader::new(ini, "STORE_LOG");
    let queues_text = store.text("store_queues").unwrap_or("memory");
    let messages_text = store.text("store_messages").unwrap_or("memory");
    let (queues, messages) = storage_modes(queues_text, messages_text)?;
    let store_log = store.on_off("enable", false)?;
    let restore_messages = store.on_off("restore_messages", store_log)?;
    let prometheus_interval_seconds = store
        .text("prometheus_interval")
        .and_then(|value| value.parse::<u64>().ok());
    Ok(StoreConfig {
        store_log,
        queues,
        messages,
        db_connection: store
            .text("db_connection")
            .unwrap_or(DEFAULT_DB_CONNECTION)
            .to_string(),
        db_schema: store
            .text("db_schema")
            .unwrap_or(DEFAULT_DB_SCHEMA)
            .to_string(),
        db_pool_size: store.integer("db_pool_size", DEFAULT_DB_POOL_SIZE)?,
        db_store_log: store.on_off("db_store_log", false)?,
        db_deleted_ttl_seconds: store
            .integer("db_deleted_ttl", 86_400 * DEFAULT_DELETED_TTL_DAYS)?,
        restore_messages,
        // Saturating: an absurdly large number of days means "never" (the reference's `Int`
        // product would wrap around; found by the `ini` fuzz target).
        message_ttl_seconds: store
            .integer("expire_messages_days", DEFAULT_MESSAGE_EXPIRATION_DAYS)?
            .saturating_mul(86_400),
        expire_messages_on_start: store.on_off("expire_messages_on_start", true)?,
        expire_messages_on_send: store.on_off("expire_messages_on_send", true)?,
        notification_ttl_seconds: store
            .integer("expire_ntfs_hours", DEFAULT_NOTIFICATION_EXPIRATION_HOURS)?
            .saturating_mul(3_600),
        log_stats: store.on_off("log_stats", false)?,
        prometheus_interval_seconds,
        store_log_fsync: store.on_off("store_log_fsync", false)?,
    })
}

/// `Server.Main` binding `readStoreType`, with its messages.
fn storage_modes(queues: &str, messages: &str) -> Result<(QueueStoreMode, MessageStoreMode)> {
    match (queues, messages) {
        ("memory", "memory") => Ok((QueueStoreMode::Memory, MessageStoreMode::Memory)),
        ("memory", "journal") => Ok((QueueStoreMode::Memory, MessageStoreMode::Journal)),
        ("database", "journal") => Ok((QueueStoreMode::Database, MessageStoreMode::Journal)),
        ("database", "database") => Ok((QueueStoreMode::Database, MessageStoreMode::Database)),
        ("memory", "database") | ("database", "memory") => Err(ConfigError::Storage(
            "Database and memory storage are not compatible.".to_string(),
        )),
        _ => Err(ConfigError::Storage(format!(
            "Invalid storage settings: store_queues: {queues}, store_messages: {messages}"
        ))),
    }
}

fn auth_config(ini: &Ini) -> Result<AuthConfig> {
    let auth = Reader::new(ini, "AUTH");
    Ok(AuthConfig {
        allow_new_queues: auth.on_off("new_queues", true)?,
        create_password: auth.password("create_password")?,
        control_port_admin_password: auth.password("control_port_admin_password")?,
        control_port_user_password: auth.password("control_port_user_password")?,
        daily_block_queue_quota: auth
            .integer("daily_block_queue_quota", DEFAULT_DAILY_BLOCK_QUEUE_QUOTA)?,
    })
}

fn port_list(section: &str, key: &str, text: &str) -> Result<Vec<u16>> {
    text.split(',')
        .map(|item| port(section, key, item))
        .collect()
}

fn transport_config(ini: &Ini) -> Result<TransportConfig> {
    let transport = Reader::new(ini, "TRANSPORT");
    let port_text = transport.required("port")?;
    let smp_ports = port_list("TRANSPORT", "port", port_text)?;
    let websockets = transport.required("websockets")?;
    let websocket_ports: Vec<u16> = match websockets {
        "off" => Vec::new(),
        "on" => vec![80],
        list => port_list("TRANSPORT", "websockets", list)?
            .into_iter()
            .filter(|port| !smp_ports.contains(port))
            .collect(),
    };
    let web_https_text = ini.value("WEB", "https").map(str::trim);
    let entry = |port: u16, kind: TransportKind| TransportPort {
        port,
        kind,
        serves_web: web_https_text == Some(port.to_string().as_str()),
    };
    let mut ports: Vec<TransportPort> = smp_ports
        .iter()
        .map(|&port| entry(port, TransportKind::Tls))
        .collect();
    ports.extend(
        websocket_ports
            .iter()
            .map(|&port| entry(port, TransportKind::WebSockets)),
    );
    let control_port = transport
        .text("control_port")
        .map(|value| port("TRANSPORT", "control_port", value))
        .transpose()?;
    Ok(TransportConfig {
        host: transport.text("host").unwrap_or("<hostnames>").to_string(),
        port_text: port_text.to_string(),
        ports,
        log_tls_errors: transport.on_off("log_tls_errors", false)?,
        control_port,
        accept_service_credentials: transport.on_off("accept_service_credentials", true)?,
    })
}

fn proxy_config(ini: &Ini) -> Result<ProxyConfig> {
    let proxy = Reader::new(ini, "PROXY");
    let host_mode = match proxy.text("host_mode") {
        None | Some("public") => HostMode::Public,
        Some("onion") => HostMode::Onion,
        Some(other) => {
            return Err(ConfigError::invalid(
                "PROXY",
                "host_mode",
                other,
                "public or onion",
            ))
        }
    };
    let socks_mode = match proxy.text("socks_mode") {
        None | Some("onion") => SocksMode::Onion,
        Some("always") => SocksMode::Always,
        Some(other) => {
            return Err(ConfigError::invalid(
                "PROXY",
                "socks_mode",
                other,
                "onion or always",
            ))
        }
    };
    let socks_proxy = match proxy.text("socks_proxy") {
        None => None,
        Some(text) => Some(SocksProxy::parse(text).ok_or_else(|| {
            ConfigError::invalid(
                "PROXY",
                "socks_proxy",
                text,
                "an address and optional port, e.g. 127.0.0.1:9050 or [::1]:9050",
            )
        })?),
    };
    let own_server_domains = proxy
        .text("own_server_domains")
        .map(|text| {
            text.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|word| !word.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(ProxyConfig {
        host_mode,
        required_host_mode: proxy.on_off("required_host_mode", false)?,
        own_server_domains,
        socks_proxy,
        socks_mode,
        client_concurrency: proxy
            .integer("client_concurrency", DEFAULT_PROXY_CLIENT_CONCURRENCY)?,
    })
}

fn inactive_clients_config(ini: &Ini) -> Result<Option<InactiveClientsConfig>> {
    let inactive = Reader::new(ini, "INACTIVE_CLIENTS");
    if !inactive.on_off("disconnect", false)? {
        return Ok(None);
    }
    let ttl_text = inactive.required("ttl")?;
    let interval_text = inactive.required("check_interval")?;
    Ok(Some(InactiveClientsConfig {
        ttl_seconds: integer("INACTIVE_CLIENTS", "ttl", ttl_text)?,
        check_interval_seconds: integer("INACTIVE_CLIENTS", "check_interval", interval_text)?,
    }))
}

fn web_config(ini: &Ini) -> WebConfig {
    let web = Reader::new(ini, "WEB");
    let https = match (web.lenient_port("https"), web.text("cert"), web.text("key")) {
        (Some(port), Some(cert), Some(key)) => Some(WebHttps {
            port,
            cert: PathBuf::from(cert),
            key: PathBuf::from(key),
        }),
        _ => None,
    };
    WebConfig {
        static_path: web.text("static_path").map(PathBuf::from),
        http_port: web.lenient_port("http"),
        https,
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
