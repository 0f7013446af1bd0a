//! A minimal SOCKS5 client (RFC 1928 `CONNECT`, RFC 1929 username/password), as the reference
//! uses through the `socks` package (`Transport.Client.connectSocksClient`) to reach `.onion`
//! servers via Tor. Names are resolved by the proxy (address type 3), never locally.
//!
//! Failures are I/O errors, so they surface like any other connection failure (`NETWORK`).

use std::io::{Error, ErrorKind};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0;
const USERNAME_PASSWORD: u8 = 2;
const NO_ACCEPTABLE_METHOD: u8 = 0xff;
const CONNECT: u8 = 1;
const ATYP_IPV4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_IPV6: u8 = 4;

/// Credentials offered to the proxy (`Transport.Client.SocksAuth` after
/// `Client.clientSocksCredentials`). Tor isolates circuits by these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocksAuth {
    /// No authentication method.
    None,
    /// RFC 1929 username and password (each at most 255 bytes).
    UsernamePassword {
        username: Vec<u8>,
        password: Vec<u8>,
    },
}

/// Where the proxy should connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocksTarget {
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// A host name resolved by the proxy (at most 255 bytes), e.g. an `.onion` name.
    Domain(String),
}

fn failure(text: &str) -> Error {
    Error::other(format!("SOCKS5: {text}"))
}

/// Connects to `target:port` through the SOCKS5 proxy at `proxy`.
pub async fn connect(
    proxy: SocketAddr,
    auth: &SocksAuth,
    target: &SocksTarget,
    port: u16,
) -> Result<TcpStream, Error> {
    let mut stream = TcpStream::connect(proxy).await?;
    negotiate(&mut stream, auth, target, port).await?;
    Ok(stream)
}

/// The SOCKS5 exchange on an open stream: method selection, authentication, `CONNECT`.
pub async fn negotiate<S>(
    stream: &mut S,
    auth: &SocksAuth,
    target: &SocksTarget,
    port: u16,
) -> Result<(), Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let greeting: &[u8] = match auth {
        SocksAuth::None => &[VERSION, 1, NO_AUTH],
        SocksAuth::UsernamePassword { .. } => &[VERSION, 2, NO_AUTH, USERNAME_PASSWORD],
    };
    stream.write_all(greeting).await?;
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).await?;
    if choice[0] != VERSION {
        return Err(failure("not a SOCKS5 proxy"));
    }
    match (choice[1], auth) {
        (NO_AUTH, _) => {}
        (USERNAME_PASSWORD, SocksAuth::UsernamePassword { username, password }) => {
            authenticate(stream, username, password).await?;
        }
        (NO_ACCEPTABLE_METHOD, _) => return Err(failure("no acceptable authentication method")),
        _ => return Err(failure("unexpected authentication method")),
    }
    let mut request = vec![VERSION, CONNECT, 0];
    match target {
        SocksTarget::Ipv4(address) => {
            request.push(ATYP_IPV4);
            request.extend_from_slice(&address.octets());
        }
        SocksTarget::Ipv6(address) => {
            request.push(ATYP_IPV6);
            request.extend_from_slice(&address.octets());
        }
        SocksTarget::Domain(name) => {
            let length = u8::try_from(name.len())
                .map_err(|_| Error::new(ErrorKind::InvalidInput, "SOCKS5: host name too long"))?;
            request.push(ATYP_DOMAIN);
            request.push(length);
            request.extend_from_slice(name.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).await?;
    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).await?;
    if reply[0] != VERSION {
        return Err(failure("bad reply"));
    }
    if reply[1] != 0 {
        return Err(failure(&format!("connect refused (reply {})", reply[1])));
    }
    // The bound address and port are of no use here; read them off the stream.
    let address_length = match reply[3] {
        ATYP_IPV4 => 4,
        ATYP_IPV6 => 16,
        ATYP_DOMAIN => usize::from(stream.read_u8().await?),
        _ => return Err(failure("bad bound address type")),
    };
    let mut bound = vec![0u8; address_length + 2];
    stream.read_exact(&mut bound).await?;
    Ok(())
}

/// RFC 1929 sub-negotiation.
async fn authenticate<S>(stream: &mut S, username: &[u8], password: &[u8]) -> Result<(), Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let too_long = || Error::new(ErrorKind::InvalidInput, "SOCKS5: credentials too long");
    let mut request = vec![1, u8::try_from(username.len()).map_err(|_| too_long())?];
    request.extend_from_slice(username);
    request.push(u8::try_from(password.len()).map_err(|_| too_long())?);
    request.extend_from_slice(password);
    stream.write_all(&request).await?;
    let mut status = [0u8; 2];
    stream.read_exact(&mut status).await?;
    if status[1] != 0 {
        return Err(failure("authentication failed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    /// A scripted proxy: for each step, reads and checks the client's bytes, then answers.
    async fn proxy_side(
        mut stream: tokio::io::DuplexStream,
        steps: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> tokio::io::DuplexStream {
        for (expected, answer) in steps {
            let mut received = vec![0u8; expected.len()];
            stream.read_exact(&mut received).await.unwrap();
            assert_eq!(received, expected);
            stream.write_all(&answer).await.unwrap();
        }
        stream
    }

    #[tokio::test]
    async fn connects_to_an_onion_name_without_auth() {
        let (mut client, server) = duplex(1024);
        let mut request = vec![5, 1, 0, 3, 9];
        request.extend_from_slice(b"abc.onion");
        request.extend_from_slice(&5223u16.to_be_bytes());
        let steps = vec![
            (vec![5, 1, 0], vec![5, 0]),
            (request, vec![5, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        ];
        let proxy = tokio::spawn(proxy_side(server, steps));
        let target = SocksTarget::Domain("abc.onion".into());
        negotiate(&mut client, &SocksAuth::None, &target, 5223)
            .await
            .unwrap();
        let mut server = proxy.await.unwrap();
        client.write_all(b"hello").await.unwrap();
        let mut data = [0u8; 5];
        server.read_exact(&mut data).await.unwrap();
        assert_eq!(&data, b"hello");
    }

    #[tokio::test]
    async fn authenticates_with_username_and_empty_password() {
        let (mut client, server) = duplex(1024);
        let mut credentials = vec![1, 4];
        credentials.extend_from_slice(b"user");
        credentials.push(0);
        let steps = vec![
            (vec![5, 2, 0, 2], vec![5, 2]),
            (credentials, vec![1, 0]),
            (
                vec![5, 1, 0, 1, 127, 0, 0, 1, 0x14, 0x67],
                vec![5, 0, 0, 1, 0, 0, 0, 0, 0, 0],
            ),
        ];
        let proxy = tokio::spawn(proxy_side(server, steps));
        let auth = SocksAuth::UsernamePassword {
            username: b"user".to_vec(),
            password: Vec::new(),
        };
        let target = SocksTarget::Ipv4(Ipv4Addr::LOCALHOST);
        negotiate(&mut client, &auth, &target, 5223).await.unwrap();
        proxy.await.unwrap();
    }

    #[tokio::test]
    async fn refusals_are_errors() {
        let (mut client, server) = duplex(1024);
        let steps = vec![(vec![5, 1, 0], vec![5, 0xff])];
        let proxy = tokio::spawn(proxy_side(server, steps));
        let target = SocksTarget::Ipv6(Ipv6Addr::LOCALHOST);
        assert!(negotiate(&mut client, &SocksAuth::None, &target, 1)
            .await
            .is_err());
        proxy.await.unwrap();

        let (mut client, server) = duplex(1024);
        let mut request = vec![5, 1, 0, 4];
        request.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        request.extend_from_slice(&1u16.to_be_bytes());
        // Reply 5: connection refused.
        let steps = vec![(vec![5, 1, 0], vec![5, 0]), (request, vec![5, 5, 0, 1])];
        let proxy = tokio::spawn(proxy_side(server, steps));
        let error = negotiate(&mut client, &SocksAuth::None, &target, 1)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("refused"), "{error}");
        proxy.await.unwrap();
    }
}
