//! Value syntaxes of `smp-server.ini` (`Server.CLI` `iniOnOff`, `readIniDefault`,
//! `strDecodeIni`; `Protocol.basicAuth`; `Server.Main.validCountryValue`; `SocksProxy`).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::ConfigError;

/// `on`/`off`, exactly (`CLI.iniOnOff`).
pub(crate) fn on_off(section: &str, key: &str, value: &str) -> Result<bool, ConfigError> {
    match value {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(ConfigError::invalid(section, key, value, "on or off")),
    }
}

/// A decimal integer as Haskell `read` accepts it (optional leading `-`, no `+`).
pub(crate) fn integer(section: &str, key: &str, value: &str) -> Result<i64, ConfigError> {
    if value.starts_with('+') {
        return Err(ConfigError::invalid(section, key, value, "an integer"));
    }
    value
        .parse::<i64>()
        .map_err(|_| ConfigError::invalid(section, key, value, "an integer"))
}

/// A TCP port number.
pub(crate) fn port(section: &str, key: &str, value: &str) -> Result<u16, ConfigError> {
    value
        .trim()
        .parse::<u16>()
        .map_err(|_| ConfigError::invalid(section, key, value, "a port number (0-65535)"))
}

/// A password for basic auth: non-empty printable ASCII without whitespace, `@`, `:` or `/`
/// (`Protocol.basicAuth`). Used for `create_password` and the control port passwords.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth(String);

impl BasicAuth {
    /// Checks the allowed characters.
    pub fn parse(text: &str) -> Option<BasicAuth> {
        let valid = !text.is_empty()
            && text
                .bytes()
                .all(|byte| byte.is_ascii_graphic() && !matches!(byte, b'@' | b':' | b'/'));
        valid.then(|| BasicAuth(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicAuth(..)")
    }
}

impl fmt::Display for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn password(section: &str, key: &str, value: &str) -> Result<BasicAuth, ConfigError> {
    BasicAuth::parse(value).ok_or_else(|| {
        ConfigError::invalid(
            section,
            key,
            value,
            "printable ASCII characters without whitespace, '@', ':' and '/'",
        )
    })
}

/// Two ASCII letters, upper-cased (`Server.Main.validCountryValue`); the error text is the
/// reference's (`Use ISO3166 2-letter code for ⟨field⟩`).
pub fn country(field: &str, value: &str) -> Result<String, String> {
    if value.len() == 2 && value.bytes().all(|byte| byte.is_ascii_alphabetic()) {
        Ok(value.to_ascii_uppercase())
    } else {
        Err(format!("Use ISO3166 2-letter code for {field}"))
    }
}

/// Address of a SOCKS5 proxy: `[host][:port]`, host defaulting to `127.0.0.1` and port to 9050
/// (`Transport.Client` `StrEncoding SocksProxy`). The reference accepts only IP addresses; host
/// names are accepted here as well.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocksProxy {
    pub host: String,
    pub port: u16,
}

impl SocksProxy {
    pub const DEFAULT_PORT: u16 = 9050;

    /// `127.0.0.1:9050` (`Transport.Client.defaultSocksProxy`).
    pub fn default_proxy() -> SocksProxy {
        SocksProxy {
            host: Ipv4Addr::LOCALHOST.to_string(),
            port: Self::DEFAULT_PORT,
        }
    }

    pub fn parse(text: &str) -> Option<SocksProxy> {
        let (host, port_text): (String, String) = if let Some(rest) = text.strip_prefix('[') {
            let (address, rest) = rest.split_once(']')?;
            let address: Ipv6Addr = address.parse().ok()?;
            (address.to_string(), rest.to_string())
        } else if text.parse::<Ipv6Addr>().is_ok() {
            (text.to_string(), String::new())
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host.to_string(), format!(":{port}")),
                None => (text.to_string(), String::new()),
            }
        };
        let port = match port_text.strip_prefix(':') {
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse().ok()?
            }
            Some(_) => return None,
            None if port_text.is_empty() => Self::DEFAULT_PORT,
            None => return None,
        };
        let host = if host.is_empty() {
            Ipv4Addr::LOCALHOST.to_string()
        } else if let Ok(address) = host.parse::<Ipv4Addr>() {
            address.to_string()
        } else if host.parse::<Ipv6Addr>().is_ok()
            || host
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-'))
        {
            host
        } else {
            return None;
        };
        Some(SocksProxy { host, port })
    }
}

impl fmt::Display for SocksProxy {
    /// `host:port`, IPv6 in brackets (Haskell `show SockAddr`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A transport host as the reference encodes it in addresses (`Transport.Client.TransportHost`):
/// IPv4, IPv6, onion or domain name.
pub fn valid_host(text: &str) -> bool {
    if text.is_empty() {
        return false;
    }
    if text.parse::<Ipv4Addr>().is_ok() || text.parse::<Ipv6Addr>().is_ok() {
        return true;
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok();
    }
    !text
        .chars()
        .any(|c| matches!(c, ':' | '#' | ',' | ';' | '/' | ' ' | '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_off_values() {
        assert!(on_off("A", "k", "on").unwrap());
        assert!(!on_off("A", "k", "off").unwrap());
        for bad in ["On", "yes", "", "on "] {
            let error = on_off("A", "k", bad).unwrap_err().to_string();
            assert!(error.contains("[A] k"), "{error}");
            assert!(error.contains("on or off"), "{error}");
        }
    }

    #[test]
    fn integers() {
        assert_eq!(integer("A", "k", "21").unwrap(), 21);
        assert_eq!(integer("A", "k", "-1").unwrap(), -1);
        assert!(integer("A", "k", "+1").is_err());
        assert!(integer("A", "k", "1d").is_err());
        assert!(integer("A", "k", "").is_err());
    }

    #[test]
    fn passwords() {
        assert!(BasicAuth::parse("abc-_=XYZ09~!").is_some());
        for bad in ["", "a b", "a@b", "a:b", "a/b", "é", "a\tb"] {
            assert!(BasicAuth::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn countries() {
        assert_eq!(country("server_country", "gb").unwrap(), "GB");
        assert_eq!(
            country("server_country", "GBR").unwrap_err(),
            "Use ISO3166 2-letter code for server_country"
        );
        assert!(country("x", "1A").is_err());
    }

    #[test]
    fn socks_proxies() {
        let parse = |text: &str| SocksProxy::parse(text).map(|proxy| proxy.to_string());
        assert_eq!(parse("127.0.0.1:9050").as_deref(), Some("127.0.0.1:9050"));
        assert_eq!(parse("10.0.0.1").as_deref(), Some("10.0.0.1:9050"));
        assert_eq!(parse(":9051").as_deref(), Some("127.0.0.1:9051"));
        assert_eq!(parse("").as_deref(), Some("127.0.0.1:9050"));
        assert_eq!(parse("[::1]:9050").as_deref(), Some("[::1]:9050"));
        assert_eq!(parse("[::1]").as_deref(), Some("[::1]:9050"));
        assert_eq!(parse("localhost:9050").as_deref(), Some("localhost:9050"));
        assert_eq!(parse("1.2.3.4:x"), None);
        assert_eq!(parse("1.2.3.4:99999"), None);
        assert_eq!(parse("a b:1"), None);
    }

    #[test]
    fn hosts() {
        assert!(valid_host("smp.example.com"));
        assert!(valid_host("1.2.3.4"));
        assert!(valid_host("abc.onion"));
        assert!(!valid_host("a,b"));
        assert!(!valid_host(""));
    }
}
