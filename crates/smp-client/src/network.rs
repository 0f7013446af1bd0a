//! Where a connection goes (`Client.NetworkConfig`, `Client.chooseTransportHost`,
//! `Client.transportClientConfig`): which host of a multi-host server address to use, and
//! whether to reach it directly or through a SOCKS5 proxy ([`crate::socks5`]).

use std::net::SocketAddr;

use smp_proto::address::TransportHost;
use tokio::net::TcpStream;

use crate::error::{ClientError, ClientResult};
use crate::socks5::{self, SocksAuth, SocksTarget};

/// Which host of a multi-host address to prefer (`Client.HostMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMode {
    /// The first `.onion` host when a SOCKS proxy is configured, else the first public one
    /// (`HMOnionViaSocks`, the reference client's default).
    OnionViaSocks,
    /// The first `.onion` host (`HMOnion`).
    Onion,
    /// The first host that is not `.onion` (`HMPublic`).
    Public,
}

/// When the SOCKS proxy is used (`Client.SocksMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocksMode {
    /// For every destination (`SMAlways`).
    Always,
    /// Only for `.onion` destinations (`SMOnion`).
    Onion,
}

/// A SOCKS5 proxy and how to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocksSettings {
    pub proxy: SocketAddr,
    pub mode: SocksMode,
    pub auth: SocksAuth,
}

/// How to reach servers (the part of `Client.NetworkConfig` this client uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSettings {
    pub host_mode: HostMode,
    /// With a preferred host kind missing: fail with [`ClientError::IncompatibleHost`] instead of
    /// using the first host (`requiredHostMode`).
    pub required_host_mode: bool,
    pub socks: Option<SocksSettings>,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            host_mode: HostMode::OnionViaSocks,
            required_host_mode: false,
            socks: None,
        }
    }
}

impl NetworkSettings {
    /// Picks the host to connect to (`Client.chooseTransportHost`).
    pub fn choose_host<'a>(&self, hosts: &'a [TransportHost]) -> ClientResult<&'a TransportHost> {
        let is_onion = |host: &&TransportHost| matches!(host, TransportHost::Onion(_));
        let onion = || hosts.iter().find(is_onion);
        let public = || hosts.iter().find(|host| !is_onion(host));
        let preferred = match self.host_mode {
            HostMode::OnionViaSocks if self.socks.is_some() => onion(),
            HostMode::OnionViaSocks | HostMode::Public => public(),
            HostMode::Onion => onion(),
        };
        match preferred {
            Some(host) => Ok(host),
            None if self.required_host_mode => Err(ClientError::IncompatibleHost),
            None => hosts
                .first()
                .ok_or_else(|| ClientError::Local("server address without host".into())),
        }
    }

    /// The SOCKS proxy to use for `host`, if any (`transportClientConfig: useSocksProxy`).
    pub fn socks_for(&self, host: &TransportHost) -> Option<&SocksSettings> {
        let socks = self.socks.as_ref()?;
        match (socks.mode, host) {
            (SocksMode::Always, _) | (SocksMode::Onion, TransportHost::Onion(_)) => Some(socks),
            (SocksMode::Onion, _) => None,
        }
    }

    /// Opens the TCP connection to `host:port`, directly or through the SOCKS proxy.
    pub async fn connect_tcp(&self, host: &TransportHost, port: u16) -> ClientResult<TcpStream> {
        let stream = match self.socks_for(host) {
            Some(socks) => {
                let target = match host {
                    TransportHost::Ipv4(address) => SocksTarget::Ipv4(*address),
                    TransportHost::Ipv6(address) => SocksTarget::Ipv6(*address),
                    TransportHost::Onion(name) | TransportHost::Domain(name) => {
                        SocksTarget::Domain(name.clone())
                    }
                };
                socks5::connect(socks.proxy, &socks.auth, &target, port).await?
            }
            None => TcpStream::connect((host.to_string().as_str(), port)).await?,
        };
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn hosts() -> Vec<TransportHost> {
        vec![
            TransportHost::Onion("abc.onion".into()),
            TransportHost::Domain("smp.example.com".into()),
        ]
    }

    fn socks(mode: SocksMode) -> Option<SocksSettings> {
        Some(SocksSettings {
            proxy: SocketAddr::from((Ipv4Addr::LOCALHOST, 9050)),
            mode,
            auth: SocksAuth::None,
        })
    }

    #[test]
    fn host_choice_follows_the_mode() {
        let hosts = hosts();
        let mut settings = NetworkSettings::default();
        assert_eq!(settings.choose_host(&hosts).unwrap(), &hosts[1]);
        settings.socks = socks(SocksMode::Onion);
        assert_eq!(settings.choose_host(&hosts).unwrap(), &hosts[0]);
        settings.host_mode = HostMode::Public;
        assert_eq!(settings.choose_host(&hosts).unwrap(), &hosts[1]);
        settings.host_mode = HostMode::Onion;
        settings.socks = None;
        assert_eq!(settings.choose_host(&hosts).unwrap(), &hosts[0]);
    }

    #[test]
    fn missing_host_kind_falls_back_unless_required() {
        let only_onion = vec![TransportHost::Onion("abc.onion".into())];
        let mut settings = NetworkSettings {
            host_mode: HostMode::Public,
            ..NetworkSettings::default()
        };
        assert_eq!(settings.choose_host(&only_onion).unwrap(), &only_onion[0]);
        settings.required_host_mode = true;
        assert!(matches!(
            settings.choose_host(&only_onion),
            Err(ClientError::IncompatibleHost)
        ));
    }

    #[test]
    fn socks_is_used_by_mode() {
        let hosts = hosts();
        let onion_only = NetworkSettings {
            socks: socks(SocksMode::Onion),
            ..NetworkSettings::default()
        };
        assert!(onion_only.socks_for(&hosts[0]).is_some());
        assert!(onion_only.socks_for(&hosts[1]).is_none());
        let always = NetworkSettings {
            socks: socks(SocksMode::Always),
            ..NetworkSettings::default()
        };
        assert!(always.socks_for(&hosts[1]).is_some());
        assert!(NetworkSettings::default().socks_for(&hosts[0]).is_none());
    }
}
