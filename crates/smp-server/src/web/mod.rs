//! The embedded web site (`[WEB]`, the reference's `Server/Web.hs` with `apps/smp-server/
//! SMPWeb.hs`): at start the site is generated under `static_path` ([`site::generate`]) and, when
//! `[WEB] http` or a separate `[WEB] https` port is set, served by a small static HTTP/1.1 server
//! ([`server::start`]).

pub mod http;
pub mod pages;
pub mod server;
pub mod site;

use crate::config::{Config, MessageStoreMode, QueueStoreMode, ServerInformation};

/// What the server keeps across restarts (`Server.Information.ServerPersistenceMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistence {
    MemoryOnly,
    Queues,
    QueuesAndMessages,
}

/// What the information page shows (`Server.Information.ServerInformation`: the public config
/// and `[INFORMATION]`), plus the server address and fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteInfo {
    /// `smp://<fingerprint>@<hosts>[:<ports>]`, never with the queue creation password.
    pub address: String,
    pub fingerprint: String,
    /// The first `.onion` host of `[TRANSPORT] host`.
    pub onion_host: Option<String>,
    pub persistence: Persistence,
    pub message_expiration_seconds: Option<i64>,
    pub stats_enabled: bool,
    pub new_queues_allowed: bool,
    pub basic_auth_enabled: bool,
    pub information: Option<ServerInformation>,
    /// This build's name and version.
    pub version: String,
}

impl SiteInfo {
    /// The page's facts from the configuration (`Server/Main.hs: runServer` building
    /// `ServerPublicConfig`) and the server identity (base64url).
    pub fn from_config(config: &Config, fingerprint: &str) -> SiteInfo {
        let store = &config.store;
        let persistence = if store.queues == QueueStoreMode::Database
            || store.messages == MessageStoreMode::Journal
            || store.messages == MessageStoreMode::Database
        {
            Persistence::QueuesAndMessages
        } else if !store.store_log {
            Persistence::MemoryOnly
        } else if store.restore_messages {
            Persistence::QueuesAndMessages
        } else {
            Persistence::Queues
        };
        let transport = &config.transport;
        let mut address = format!("smp://{fingerprint}@{}", transport.host);
        if transport.port_text != "5223" && !transport.port_text.is_empty() {
            address.push(':');
            address.push_str(&transport.port_text);
        }
        let onion_host = transport
            .host
            .split(',')
            .map(str::trim)
            .find(|host| host.ends_with(".onion"))
            .map(str::to_string);
        SiteInfo {
            address,
            fingerprint: fingerprint.to_string(),
            onion_host,
            persistence,
            message_expiration_seconds: Some(store.message_ttl_seconds),
            stats_enabled: store.log_stats,
            new_queues_allowed: config.auth.allow_new_queues,
            basic_auth_enabled: config.auth.create_password.is_some(),
            information: config.information.clone(),
            version: format!("smp-server (Rust) {}", env!("CARGO_PKG_VERSION")),
        }
    }
}
