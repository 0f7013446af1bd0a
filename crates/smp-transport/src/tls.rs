//! TLS for SMP: the server acceptor and the client connector with the reference's parameters, the
//! tls-unique session id, and the client's validation of the server certificate chain.
//!
//! Parameters (`Transport.defaultSupportedParams`): TLS 1.3 with `TLS_CHACHA20_POLY1305_SHA256`
//! (and TLS 1.2 with `ECDHE-ECDSA-CHACHA20-POLY1305`), groups X448 then X25519, signature
//! algorithms Ed448 and Ed25519 only, no renegotiation, no session resumption. The session id of the
//! SMP connection is tls-unique, the client's Finished `verify_data` (`Transport.withTlsUnique`:
//! the server takes the peer's Finished, the client its own); without it the connection is closed.
//!
//! ALPN (`Transport/Server.supportedTLSServerParams`): the server picks the first entry of its own
//! list that the client offered; a client that offered ALPN but nothing matching is refused with a
//! `no_application_protocol` alert; a client that offered no ALPN is accepted (it then gets the
//! legacy version range, see [`crate::handshake`]). SMP clients offer `smp/1` and never send SNI.

use std::pin::Pin;

use openssl::error::ErrorStack;
use openssl::pkey::{PKeyRef, Private};
use openssl::ssl::{
    AlpnError, NameType, SniError, Ssl, SslContext, SslContextBuilder, SslMethod, SslMode,
    SslOptions, SslSessionCacheMode, SslVerifyMode, SslVersion,
};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509Ref, X509StoreContext, X509};
use smp_proto::keys::KeyHash;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_openssl::SslStream;

use crate::credentials::ServerCredentials;

/// The ALPN protocol name of SMP (`Transport.alpnSupportedSMPHandshakes`).
pub const SMP_ALPN: &[u8] = b"smp/1";

/// The server's ALPN list in production, in preference order (`Server/Main`:
/// `alpnSupportedSMPHandshakes <> httpALPN`).
pub const SERVER_ALPN: [&[u8]; 3] = [SMP_ALPN, b"h2", b"http/1.1"];

/// TLS 1.3 cipher suites (`TE.cipher_TLS13_CHACHA20POLY1305_SHA256`).
const TLS13_CIPHER_SUITES: &str = "TLS_CHACHA20_POLY1305_SHA256";
/// TLS 1.2 cipher list (`TE.cipher_ECDHE_ECDSA_CHACHA20POLY1305_SHA256`).
const TLS12_CIPHERS: &str = "ECDHE-ECDSA-CHACHA20-POLY1305";
/// Key exchange groups, in the reference's order.
const GROUPS: &str = "X448:X25519";
/// Signature algorithms: EdDSA only.
const SIGNATURE_ALGORITHMS: &str = "ed448:ed25519";

/// Longest Finished `verify_data` OpenSSL can produce (SHA-384 suites); ours are 32 or 12 bytes.
const MAX_FINISHED: usize = 64;

/// Why a TLS connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS configuration: {0}")]
    Config(#[from] ErrorStack),
    #[error("TLS handshake: {0}")]
    Handshake(#[from] openssl::ssl::Error),
    #[error("tls-unique (the client's Finished message) is not available")]
    NoTlsUnique,
    #[error("server certificate rejected: {0}")]
    Certificate(#[from] CertificateError),
}

/// Why a server certificate chain was rejected (`Transport/Client.validateCertificateChain`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// Fewer than 2 certificates (`XV.EmptyChain`).
    #[error("certificate chain has fewer than 2 certificates")]
    EmptyChain,
    /// More than 4 certificates (`XV.AuthorityTooDeep`).
    #[error("certificate chain has more than 4 certificates")]
    ChainTooLong,
    /// The identity certificate's SHA-256 is not the key hash of the address (`XV.UnknownCA`).
    #[error("identity certificate does not match the server key hash")]
    UnknownIdentity,
    /// X.509 path validation failed.
    #[error("certificate validation failed: {0}")]
    Invalid(String),
}

/// The three roles of certificates in a server chain (`Transport/Shared.chainIdCaCerts`, `CCValid`).
#[derive(Debug, Clone, Copy)]
pub struct ChainRoles<'a, C> {
    /// The online (TLS) certificate, first in the chain.
    pub leaf: &'a C,
    /// The identity certificate whose SHA-256 is the server's key hash.
    pub identity: &'a C,
    /// The trust anchor for validation.
    pub ca: &'a C,
}

/// Picks leaf, identity and CA certificates from a 2..4 certificate chain
/// (`Transport/Shared.chainIdCaCerts`): 2 → `[leaf, id=ca]`; 3 → `[leaf, id, ca]`;
/// 4 → `[leaf, id, _, ca]`.
pub fn chain_roles<C>(chain: &[C]) -> Result<ChainRoles<'_, C>, CertificateError> {
    match chain {
        [] | [_] => Err(CertificateError::EmptyChain),
        [leaf, ca] => Ok(ChainRoles {
            leaf,
            identity: ca,
            ca,
        }),
        [leaf, identity, ca] | [leaf, identity, _, ca] => Ok(ChainRoles { leaf, identity, ca }),
        _ => Err(CertificateError::ChainTooLong),
    }
}

/// Applies the parameters both sides share (`Transport.defaultSupportedParams`).
fn apply_shared_parameters(builder: &mut SslContextBuilder) -> Result<(), ErrorStack> {
    builder.set_min_proto_version(Some(SslVersion::TLS1_2))?;
    builder.set_max_proto_version(Some(SslVersion::TLS1_3))?;
    builder.set_ciphersuites(TLS13_CIPHER_SUITES)?;
    builder.set_cipher_list(TLS12_CIPHERS)?;
    builder.set_groups_list(GROUPS)?;
    builder.set_sigalgs_list(SIGNATURE_ALGORITHMS)?;
    // No resumption: every connection is a full handshake, so tls-unique is always the full
    // handshake's client Finished (spec §3.5).
    builder.set_session_cache_mode(SslSessionCacheMode::OFF);
    builder.set_options(SslOptions::NO_TICKET | SslOptions::NO_RENEGOTIATION);
    // Idle connections give their OpenSSL read/write buffers back.
    builder.set_mode(SslMode::RELEASE_BUFFERS);
    Ok(())
}

/// Builds the server's TLS context from loaded credentials: see [`server_context`].
pub fn server_context_for(
    credentials: &ServerCredentials,
    alpn: &[&[u8]],
) -> Result<SslContext, TlsError> {
    server_context(
        &credentials.certificate,
        &credentials.chain,
        &credentials.private_key,
        alpn,
    )
}

/// Builds the server's TLS context (`Transport/Server.supportedTLSServerParams` with
/// `defaultSupportedParams`): the online certificate `leaf` followed by `chain` (normally just
/// the CA certificate), the leaf's private key (Ed25519 or Ed448), no client certificate request,
/// and ALPN chosen from `alpn` (server preference order). An empty `alpn` list disables ALPN
/// altogether (every client then gets the legacy range).
pub fn server_context(
    leaf: &X509Ref,
    chain: &[X509],
    key: &PKeyRef<Private>,
    alpn: &[&[u8]],
) -> Result<SslContext, TlsError> {
    Ok(server_builder(leaf, chain, key, alpn)?.build())
}

/// TLS 1.3 suites of a port shared with HTTPS (`Transport.defaultSupportedParamsHTTPS`,
/// `ciphersuite_strong`).
const HTTPS_TLS13_CIPHER_SUITES: &str =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
/// TLS 1.2 ciphers of a port shared with HTTPS (`ciphersuite_strong`).
const HTTPS_TLS12_CIPHERS: &str = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES256-GCM-SHA384:\
DHE-RSA-CHACHA20-POLY1305";
/// Groups of a port shared with HTTPS, in the reference's order.
const HTTPS_GROUPS: &str = "X25519:X448:ffdhe4096:ffdhe6144:ffdhe8192:P-521";
/// Signature algorithms of a port shared with HTTPS, in the reference's order.
const HTTPS_SIGNATURE_ALGORITHMS: &str = "ed448:ed25519:ECDSA+SHA256:ECDSA+SHA384:\
ECDSA+SHA512:rsa_pss_rsae_sha512:rsa_pss_rsae_sha384:rsa_pss_rsae_sha256:RSA+SHA512:\
RSA+SHA384:RSA+SHA256";

/// The TLS context of an SMP port that is also the web site's HTTPS port
/// (`Transport/Server.supportedTLSServerParams` with an `sniCredential` and
/// `defaultSupportedParamsHTTPS`): like [`server_context`] with the HTTPS parameters, and a
/// client that sends SNI gets `web` instead (its certificate, key and ALPN choice); see
/// [`sni_used`]. Clients without SNI (SMP clients) get the SMP credentials as on any port.
pub fn server_context_with_web(
    credentials: &ServerCredentials,
    alpn: &[&[u8]],
    web: SslContext,
) -> Result<SslContext, TlsError> {
    let mut builder = server_builder(
        &credentials.certificate,
        &credentials.chain,
        &credentials.private_key,
        alpn,
    )?;
    builder.set_ciphersuites(HTTPS_TLS13_CIPHER_SUITES)?;
    builder.set_cipher_list(HTTPS_TLS12_CIPHERS)?;
    builder.set_groups_list(HTTPS_GROUPS)?;
    builder.set_sigalgs_list(HTTPS_SIGNATURE_ALGORITHMS)?;
    builder.set_servername_callback(move |ssl, _alert| {
        if ssl.servername(NameType::HOST_NAME).is_some() {
            ssl.set_ssl_context(&web)
                .map_err(|_| SniError::ALERT_FATAL)?;
        }
        Ok(())
    });
    Ok(builder.build())
}

/// Whether the client sent SNI, i.e. got the web credentials of [`server_context_with_web`]
/// (the reference's `SNICredentialUsed`).
pub fn sni_used<S>(stream: &SslStream<S>) -> bool {
    stream.ssl().servername(NameType::HOST_NAME).is_some()
}

fn server_builder(
    leaf: &X509Ref,
    chain: &[X509],
    key: &PKeyRef<Private>,
    alpn: &[&[u8]],
) -> Result<SslContextBuilder, TlsError> {
    let mut builder = SslContext::builder(SslMethod::tls_server())?;
    apply_shared_parameters(&mut builder)?;
    builder.set_num_tickets(0)?;
    builder.set_certificate(leaf)?;
    for cert in chain {
        builder.add_extra_chain_cert(cert.to_owned())?;
    }
    builder.set_private_key(key)?;
    builder.check_private_key()?;
    // Client certificates are used only by services (v16+), which this server does not support.
    builder.set_verify(SslVerifyMode::NONE);
    if !alpn.is_empty() {
        let server_list: Vec<Vec<u8>> = alpn.iter().map(|name| name.to_vec()).collect();
        builder.set_alpn_select_callback(move |_, client_list| {
            select_alpn(&server_list, client_list).ok_or(AlpnError::ALERT_FATAL)
        });
    }
    Ok(builder)
}

/// The first protocol of `server_list` that the client offered, as a slice of the client's
/// wire-format list (`u8` length-prefixed names). `None` also for a malformed client list.
fn select_alpn<'a>(server_list: &[Vec<u8>], client_list: &'a [u8]) -> Option<&'a [u8]> {
    let mut offered = Vec::new();
    let mut rest = client_list;
    while let Some((&length, tail)) = rest.split_first() {
        let length = usize::from(length);
        if length == 0 || tail.len() < length {
            return None;
        }
        let (name, tail) = tail.split_at(length);
        offered.push(name);
        rest = tail;
    }
    server_list
        .iter()
        .find_map(|wanted| offered.iter().find(|name| **name == wanted.as_slice()))
        .copied()
}

/// Builds the client's TLS context (`Transport/Client.mkTLSClientParams` with
/// `defaultSupportedParams`): ALPN `alpn` (SMP clients offer `[smp/1]`; empty offers none).
/// OpenSSL does not verify the server chain here: [`connect`] validates it against the key hash of
/// the address, as the reference client does.
pub fn client_context(alpn: &[&[u8]]) -> Result<SslContext, TlsError> {
    let mut builder = SslContext::builder(SslMethod::tls_client())?;
    apply_shared_parameters(&mut builder)?;
    builder.set_verify(SslVerifyMode::NONE);
    if !alpn.is_empty() {
        let mut wire = Vec::new();
        for name in alpn {
            // ALPN names are 1..255 bytes; longer ones cannot be offered.
            let length =
                u8::try_from(name.len()).map_err(|_| TlsError::Config(ErrorStack::get()))?;
            wire.push(length);
            wire.extend_from_slice(name);
        }
        builder.set_alpn_protos(&wire)?;
    }
    Ok(builder.build())
}

/// An established TLS connection with what the SMP handshake needs from it.
#[derive(Debug)]
pub struct TlsConnection<S> {
    /// The encrypted stream.
    pub stream: SslStream<S>,
    /// tls-unique: the client's Finished `verify_data` (32 bytes with TLS 1.3, 12 with TLS 1.2).
    pub session_id: Vec<u8>,
    /// The negotiated ALPN protocol, if any.
    pub alpn: Option<Vec<u8>>,
}

/// Server side of the TLS handshake; the session id is the peer's (client's) Finished.
pub async fn accept<S>(context: &SslContext, stream: S) -> Result<TlsConnection<S>, TlsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ssl = Ssl::new(context)?;
    let mut stream = SslStream::new(ssl, stream)?;
    Pin::new(&mut stream).accept().await?;
    let mut buffer = [0u8; MAX_FINISHED];
    let length = stream.ssl().peer_finished(&mut buffer);
    finish(stream, &buffer, length)
}

/// Client side of the TLS handshake: no SNI, then the server chain is validated against
/// `key_hash` ([`validate_server_chain`]); the session id is the client's own Finished.
pub async fn connect<S>(
    context: &SslContext,
    stream: S,
    key_hash: &KeyHash,
) -> Result<TlsConnection<S>, TlsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ssl = Ssl::new(context)?;
    let mut stream = SslStream::new(ssl, stream)?;
    Pin::new(&mut stream).connect().await?;
    let chain: Vec<X509> = stream
        .ssl()
        .peer_cert_chain()
        .map(|chain| chain.iter().map(|cert| cert.to_owned()).collect())
        .unwrap_or_default();
    validate_server_chain(&chain, key_hash)?;
    let mut buffer = [0u8; MAX_FINISHED];
    let length = stream.ssl().finished(&mut buffer);
    finish(stream, &buffer, length)
}

fn finish<S>(
    stream: SslStream<S>,
    buffer: &[u8; MAX_FINISHED],
    length: usize,
) -> Result<TlsConnection<S>, TlsError> {
    // `finished`/`peer_finished` return the full length even when it exceeds the buffer.
    if length == 0 || length > MAX_FINISHED {
        return Err(TlsError::NoTlsUnique);
    }
    let alpn = stream.ssl().selected_alpn_protocol().map(<[u8]>::to_vec);
    Ok(TlsConnection {
        session_id: buffer[..length].to_vec(),
        alpn,
        stream,
    })
}

/// The reference client's check of the server chain (`Transport/Client.validateCertificateChain`,
/// `Transport/Shared.x509validate`): 2..4 certificates; SHA-256 of the identity certificate equals
/// `key_hash`; X.509 path validation with the CA certificate as the only trust anchor (any
/// certificate in the store is an anchor, as in crypton-x509-validation), validity periods checked,
/// no host name check.
pub fn validate_server_chain(chain: &[X509], key_hash: &KeyHash) -> Result<(), CertificateError> {
    let roles = chain_roles(chain)?;
    let identity_der = roles
        .identity
        .to_der()
        .map_err(|error| CertificateError::Invalid(error.to_string()))?;
    if KeyHash::of_certificate(&identity_der) != *key_hash {
        return Err(CertificateError::UnknownIdentity);
    }
    // checkLeafV3 of crypton-x509-validation (version field 2 means X.509 v3).
    if roles.leaf.version() != 2 {
        return Err(CertificateError::Invalid(
            "leaf certificate is not X.509 v3".into(),
        ));
    }
    verify_path(roles.leaf, &chain[1..], roles.ca)
        .map_err(|error| CertificateError::Invalid(error.to_string()))?
        .map_err(CertificateError::Invalid)
}

/// OpenSSL path validation of `leaf` over `intermediates` to `anchor`.
fn verify_path(
    leaf: &X509,
    intermediates: &[X509],
    anchor: &X509,
) -> Result<Result<(), String>, ErrorStack> {
    let mut store = X509StoreBuilder::new()?;
    store.add_cert(anchor.to_owned())?;
    store.set_flags(X509VerifyFlags::PARTIAL_CHAIN)?;
    let store = store.build();
    let mut untrusted = Stack::new()?;
    for cert in intermediates {
        untrusted.push(cert.to_owned())?;
    }
    let mut context = X509StoreContext::new()?;
    context.init(&store, leaf, &untrusted, |context| {
        Ok(if context.verify_cert()? {
            Ok(())
        } else {
            Err(context.error().error_string().to_string())
        })
    })
}
