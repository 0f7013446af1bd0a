//! Settings of the proxy role (`Server/Main.hs: smpAgentCfg`, `[PROXY]`): network route to
//! relays, own domains, per-client concurrency, timeouts, and the bound on relay connections.

use crate::config::{HostMode as ConfigHostMode, ProxyConfig, SocksMode as ConfigSocksMode};
use smp_client::socks5::SocksAuth;
use smp_client::{HostMode, NetworkSettings, SocksMode, SocksSettings};
use smp_proto::crypto::sha256;
use smp_proto::text::encode_base64url;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Outgoing relay connections (connected, connecting, or remembered as failed) at most.
pub const MAX_RELAYS: usize = 4096;

/// How this server reaches destination relays (`Server/Main.hs: smpAgentCfg` for the proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// `[PROXY] host_mode`, `required_host_mode`, `socks_proxy`, `socks_mode`.
    pub network: NetworkSettings,
    /// `[PROXY] own_server_domains`: relays under these domains count in the `…Own` stats.
    pub own_server_domains: Vec<String>,
    /// `[PROXY] client_concurrency`: proxied commands running at once per client connection.
    pub client_concurrency: usize,
    /// Connection set-up limit (`tcpConnectTimeout`, 45 s in the background mode).
    pub connect_timeout: Duration,
    /// Response limit for `RFWD` (`tcpTimeout`, 30 s in the background mode).
    pub response_timeout: Duration,
    /// How long a failed connection attempt is answered from memory (`persistErrorInterval`).
    pub persist_error_interval: Duration,
    /// Bound on [`ProxyAgent`] relay entries.
    pub max_relays: usize,
}

impl Default for ProxySettings {
    fn default() -> Self {
        ProxySettings {
            network: NetworkSettings {
                host_mode: HostMode::Public,
                required_host_mode: false,
                socks: None,
            },
            own_server_domains: Vec::new(),
            client_concurrency: 32,
            connect_timeout: Duration::from_secs(45),
            response_timeout: Duration::from_secs(30),
            persist_error_interval: Duration::from_secs(30),
            max_relays: MAX_RELAYS,
        }
    }
}

impl ProxySettings {
    /// From the typed `[PROXY]` section. `instance` names this server run: SOCKS connections
    /// authenticate with a user name derived from it, so Tor keeps this run's circuits apart
    /// (`clientSocksCredentials` with `SocksIsolateByAuth`). A SOCKS proxy whose host does not
    /// resolve is an error naming it.
    pub fn from_config(config: &ProxyConfig, instance: &str) -> Result<Self, String> {
        let socks = match &config.socks_proxy {
            None => None,
            Some(proxy) => {
                let address: SocketAddr = (proxy.host.as_str(), proxy.port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut addresses| addresses.next())
                    .ok_or_else(|| {
                        format!(
                            "[PROXY] socks_proxy: cannot resolve {}:{}",
                            proxy.host, proxy.port
                        )
                    })?;
                Some(SocksSettings {
                    proxy: address,
                    mode: match config.socks_mode {
                        ConfigSocksMode::Onion => SocksMode::Onion,
                        ConfigSocksMode::Always => SocksMode::Always,
                    },
                    auth: SocksAuth::UsernamePassword {
                        username: encode_base64url(&sha256(format!("1:{instance}").as_bytes()))
                            .into_bytes(),
                        password: Vec::new(),
                    },
                })
            }
        };
        Ok(ProxySettings {
            network: NetworkSettings {
                host_mode: match config.host_mode {
                    ConfigHostMode::Public => HostMode::Public,
                    // `textToHostMode`: `onion` is onion-via-SOCKS (public hosts without a proxy).
                    ConfigHostMode::Onion => HostMode::OnionViaSocks,
                },
                required_host_mode: config.required_host_mode,
                socks,
            },
            own_server_domains: config.own_server_domains.clone(),
            client_concurrency: usize::try_from(config.client_concurrency)
                .unwrap_or(1)
                .max(1),
            ..ProxySettings::default()
        })
    }
}
