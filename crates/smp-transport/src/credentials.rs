//! Server credentials: the offline CA ("identity") certificate, the online TLS certificate signed
//! by it, and the `fingerprint` file holding the server identity.
//!
//! Generation matches what the reference's `CLI.createServerX509_` produces by running the
//! `openssl` command (same subjects, extensions, validity, serial handling, PEM forms, file names
//! and modes), but is done natively with the `openssl` crate. Loading matches
//! `Transport.Server.loadServerCredential` / `loadFileFingerprint` and `CLI.checkSavedFingerprint`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::stack::Stack;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Name, X509NameBuilder, X509Req, X509ReqBuilder, X509};
use smp_proto::keys::KeyHash;

/// CA private key file (`X509Config.caKeyFile`).
pub const CA_KEY_FILE: &str = "ca.key";
/// CA certificate file; its SHA-256 is the server identity (`X509Config.caCrtFile`).
pub const CA_CRT_FILE: &str = "ca.crt";
/// Online (TLS) private key file (`X509Config.serverKeyFile`).
pub const SERVER_KEY_FILE: &str = "server.key";
/// Online (TLS) certificate file (`X509Config.serverCrtFile`).
pub const SERVER_CRT_FILE: &str = "server.crt";
/// Fingerprint file: base64url SHA-256 of the CA certificate and a newline.
pub const FINGERPRINT_FILE: &str = "fingerprint";
/// Certificate request left behind by the online certificate generation.
pub const SERVER_CSR_FILE: &str = "server.csr";
/// Serial number file of the CA (`openssl x509 -CAcreateserial`).
pub const CA_SERIAL_FILE: &str = "ca.srl";
/// OpenSSL config describing the CA request, left behind like the reference does.
pub const OPENSSL_CA_CONF_FILE: &str = "openssl_ca.conf";
/// OpenSSL config describing the online request, left behind like the reference does.
pub const OPENSSL_SERVER_CONF_FILE: &str = "openssl_server.conf";

/// Validity of both certificates, in days (`-days 999999`).
const VALIDITY_DAYS: u32 = 999_999;
/// Random serial size used by OpenSSL 3 for `req -x509` and `-CAcreateserial` (bits).
const RANDOM_SERIAL_BITS: i32 = 159;

/// Signature algorithm of both certificates (`CLI.SignAlgorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignAlgorithm {
    Ed25519,
    Ed448,
}

impl SignAlgorithm {
    /// Name as written on the command line (`ED25519`, `ED448`; `Show SignAlgorithm`).
    pub fn name(self) -> &'static str {
        match self {
            SignAlgorithm::Ed25519 => "ED25519",
            SignAlgorithm::Ed448 => "ED448",
        }
    }

    /// Parses the exact upper-case names the reference accepts (`Read SignAlgorithm`).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ED25519" => Some(SignAlgorithm::Ed25519),
            "ED448" => Some(SignAlgorithm::Ed448),
            _ => None,
        }
    }

    fn generate_key(self) -> std::result::Result<PKey<Private>, ErrorStack> {
        match self {
            SignAlgorithm::Ed25519 => PKey::generate_ed25519(),
            SignAlgorithm::Ed448 => PKey::generate_ed448(),
        }
    }

    fn of_key_id(id: Id) -> Option<Self> {
        if id == Id::ED25519 {
            Some(SignAlgorithm::Ed25519)
        } else if id == Id::ED448 {
            Some(SignAlgorithm::Ed448)
        } else {
            None
        }
    }
}

impl std::fmt::Display for SignAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors creating or loading credentials. The `Display` texts of the variants the reference
/// prints are the reference's texts.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("OpenSSL error: {0}")]
    OpenSsl(#[from] ErrorStack),
    /// `Env.newEnv` binding `getCredentials`: files are listed comma-separated.
    #[error("Error: no SMP credentials: {}", join_paths(.0))]
    Missing(Vec<PathBuf>),
    /// `Transport.Server.loadServerCredential`.
    #[error("invalid credential")]
    Invalid,
    #[error("No certificate found at {}", .0.display())]
    NoCertificate(PathBuf),
    #[error("Too many certificates at {}", .0.display())]
    TooManyCertificates(PathBuf),
    #[error("Unexpected signature algorithm {0}")]
    UnexpectedAlgorithm(String),
    #[error("Certificate subject has no CN element")]
    NoCommonName,
    #[error("Certificate subject CN decoding failed")]
    CommonNameDecoding,
    /// `CLI.checkSavedFingerprint`.
    #[error("Stored fingerprint is invalid.")]
    FingerprintMismatch,
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

type Result<T> = std::result::Result<T, CredentialsError>;

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CredentialsError + '_ {
    move |source| CredentialsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(io_error(path))
}

/// Writes a file created with `mode` (subject to the umask), replacing any existing one.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    if mode != 0o666 {
        // a fresh file gets the mode; an existing one would keep its old mode
        match fs::remove_file(path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(path)(error))
            }
            _ => {}
        }
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(bytes).map_err(io_error(path))
}

/// Creates the CA and the online credentials and the `fingerprint` file in `cfg_dir`
/// (`CLI.createServerX509`); returns the server identity.
pub fn create_server_credentials(
    cfg_dir: &Path,
    common_name: &str,
    algorithm: SignAlgorithm,
) -> Result<KeyHash> {
    write_file(
        &cfg_dir.join(OPENSSL_CA_CONF_FILE),
        OPENSSL_CA_CONF.as_bytes(),
        0o666,
    )?;
    let ca_key = algorithm.generate_key()?;
    write_file(
        &cfg_dir.join(CA_KEY_FILE),
        &ca_key.private_key_to_pem_pkcs8()?,
        0o600,
    )?;
    let ca_cert = build_ca_certificate(&ca_key)?;
    write_file(&cfg_dir.join(CA_CRT_FILE), &ca_cert.to_pem()?, 0o666)?;
    create_online_certificate(cfg_dir, common_name, algorithm)
}

/// Creates a new online key and certificate signed by the existing `ca.key`/`ca.crt`, and
/// rewrites the `fingerprint` file (`CLI.createServerX509_ False`, used by `cert`).
pub fn create_online_certificate(
    cfg_dir: &Path,
    common_name: &str,
    algorithm: SignAlgorithm,
) -> Result<KeyHash> {
    let ca_key_path = cfg_dir.join(CA_KEY_FILE);
    let ca_key = PKey::private_key_from_pem(&read_file(&ca_key_path)?)?;
    let ca_cert = first_certificate(&cfg_dir.join(CA_CRT_FILE))?;
    write_file(
        &cfg_dir.join(OPENSSL_SERVER_CONF_FILE),
        openssl_server_conf(common_name).as_bytes(),
        0o666,
    )?;
    let server_key = algorithm.generate_key()?;
    write_file(
        &cfg_dir.join(SERVER_KEY_FILE),
        &server_key.private_key_to_pem_pkcs8()?,
        0o600,
    )?;
    let subject = server_name(common_name)?;
    let request = build_request(&server_key, &subject)?;
    write_file(&cfg_dir.join(SERVER_CSR_FILE), &request.to_pem()?, 0o666)?;
    let serial = next_serial(&cfg_dir.join(CA_SERIAL_FILE))?;
    let server_cert = build_server_certificate(&server_key, &subject, &ca_key, &ca_cert, &serial)?;
    write_file(
        &cfg_dir.join(SERVER_CRT_FILE),
        &server_cert.to_pem()?,
        0o666,
    )?;
    write_file(
        &cfg_dir.join(CA_SERIAL_FILE),
        serial_file_text(&serial)?.as_bytes(),
        0o666,
    )?;
    let identity = KeyHash::of_certificate(&ca_cert.to_der()?);
    write_file(
        &cfg_dir.join(FINGERPRINT_FILE),
        format!("{}\n", identity.to_text()).as_bytes(),
        0o666,
    )?;
    Ok(identity)
}

/// The server identity: SHA-256 of the DER of the first certificate in `ca.crt`
/// (`Transport.Server.loadFileFingerprint`).
pub fn load_fingerprint(cfg_dir: &Path) -> Result<KeyHash> {
    let ca_cert = first_certificate(&cfg_dir.join(CA_CRT_FILE))?;
    Ok(KeyHash::of_certificate(&ca_cert.to_der()?))
}

/// Reads the first line of the `fingerprint` file and checks it equals the identity computed
/// from `ca.crt` (`CLI.checkSavedFingerprint`); returns the identity.
pub fn check_saved_fingerprint(cfg_dir: &Path) -> Result<KeyHash> {
    let path = cfg_dir.join(FINGERPRINT_FILE);
    let saved = read_file(&path)?;
    let first_line = saved.split(|&byte| byte == b'\n').next().unwrap_or(&[]);
    let identity = load_fingerprint(cfg_dir)?;
    if first_line != identity.to_text().as_bytes() {
        return Err(CredentialsError::FingerprintMismatch);
    }
    Ok(identity)
}

/// Algorithm and common name of the current online certificate, used by `cert` when they are not
/// given (`CLI.genOnline` binding `fromX509`).
pub fn online_certificate_identity(cfg_dir: &Path) -> Result<(SignAlgorithm, String)> {
    let path = cfg_dir.join(SERVER_CRT_FILE);
    let mut certificates = X509::stack_from_pem(&read_file(&path)?)?;
    let certificate = match certificates.len() {
        0 => return Err(CredentialsError::NoCertificate(path)),
        1 => certificates.remove(0),
        _ => return Err(CredentialsError::TooManyCertificates(path)),
    };
    let signature_nid = certificate.signature_algorithm().object().nid();
    // the signature algorithm identifiers of EdDSA equal the key type identifiers
    let algorithm = match SignAlgorithm::of_key_id(Id::from_raw(signature_nid.as_raw())) {
        Some(algorithm) => algorithm,
        None => {
            let other = signature_nid;
            let name = other.long_name().unwrap_or("unknown").to_string();
            return Err(CredentialsError::UnexpectedAlgorithm(name));
        }
    };
    let entry = certificate
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .ok_or(CredentialsError::NoCommonName)?;
    let common_name = entry
        .data()
        .to_string()
        .map_err(|_| CredentialsError::CommonNameDecoding)?;
    Ok((algorithm, common_name))
}

/// What the TLS listener presents: the online key, the online certificate and the chain after it
/// (`ServerCredentials` with `caCertificateFile = ca.crt`, loaded by
/// `Transport.Server.loadServerCredential`), plus the identity derived from `ca.crt`.
pub struct ServerCredentials {
    pub private_key: PKey<Private>,
    /// The online certificate (first in `server.crt`).
    pub certificate: X509,
    /// Further certificates of `server.crt`, then those of `ca.crt`.
    pub chain: Vec<X509>,
    /// SHA-256 of the CA certificate: the key hash clients pin.
    pub identity: KeyHash,
    /// Algorithm of the online key.
    pub algorithm: SignAlgorithm,
}

impl std::fmt::Debug for ServerCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCredentials")
            .field("identity", &self.identity)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl ServerCredentials {
    /// Loads `server.key`, `server.crt` and `ca.crt` from `cfg_dir`. Missing files are reported
    /// together, in the reference's order (ca.crt, server.crt, server.key).
    pub fn load(cfg_dir: &Path) -> Result<Self> {
        let ca_path = cfg_dir.join(CA_CRT_FILE);
        let crt_path = cfg_dir.join(SERVER_CRT_FILE);
        let key_path = cfg_dir.join(SERVER_KEY_FILE);
        let missing: Vec<PathBuf> = [&ca_path, &crt_path, &key_path]
            .into_iter()
            .filter(|path| !path.is_file())
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(CredentialsError::Missing(missing));
        }
        let mut server_certs =
            X509::stack_from_pem(&read_file(&crt_path)?).map_err(|_| CredentialsError::Invalid)?;
        let ca_certs =
            X509::stack_from_pem(&read_file(&ca_path)?).map_err(|_| CredentialsError::Invalid)?;
        let private_key = PKey::private_key_from_pem(&read_file(&key_path)?)
            .map_err(|_| CredentialsError::Invalid)?;
        if server_certs.is_empty() || ca_certs.is_empty() {
            return Err(CredentialsError::Invalid);
        }
        let certificate = server_certs.remove(0);
        let public_key = certificate
            .public_key()
            .map_err(|_| CredentialsError::Invalid)?;
        if !public_key.public_eq(&private_key) {
            return Err(CredentialsError::Invalid);
        }
        let algorithm =
            SignAlgorithm::of_key_id(private_key.id()).ok_or(CredentialsError::Invalid)?;
        let identity = KeyHash::of_certificate(&ca_certs[0].to_der()?);
        server_certs.extend(ca_certs);
        Ok(ServerCredentials {
            private_key,
            certificate,
            chain: server_certs,
            identity,
            algorithm,
        })
    }

    /// The chain as an OpenSSL stack, for `SslContextBuilder::add_extra_chain_cert` users.
    pub fn chain_stack(&self) -> Result<Stack<X509>> {
        let mut stack = Stack::new()?;
        for certificate in &self.chain {
            stack.push(certificate.clone())?;
        }
        Ok(stack)
    }
}

fn first_certificate(path: &Path) -> Result<X509> {
    let mut certificates = X509::stack_from_pem(&read_file(path)?)?;
    if certificates.is_empty() {
        return Err(CredentialsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certificates.remove(0))
}

/// `openssl_ca.conf` as the reference writes it (configuration data, not code).
const OPENSSL_CA_CONF: &str = "[req]\ndistinguished_name = req_distinguished_name\nprompt = no\n\n\
[req_distinguished_name]\nCN = SMP server CA\nO = SimpleX\n\n\
[v3]\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n\
basicConstraints = critical,CA:true\n";

fn openssl_server_conf(common_name: &str) -> String {
    format!(
        "[req]\ndistinguished_name = req_distinguished_name\nprompt = no\n\n\
         [req_distinguished_name]\nCN = {common_name}\n\n\
         [v3]\nbasicConstraints = CA:FALSE\n\
         keyUsage = digitalSignature, nonRepudiation, keyAgreement\n\
         extendedKeyUsage = serverAuth\n"
    )
}

fn ca_name() -> Result<X509Name> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, "SMP server CA")?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "SimpleX")?;
    Ok(name.build())
}

fn server_name(common_name: &str) -> Result<X509Name> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)?;
    Ok(name.build())
}

fn random_serial() -> Result<BigNum> {
    let mut serial = BigNum::new()?;
    serial.rand(RANDOM_SERIAL_BITS, MsbOption::MAYBE_ZERO, false)?;
    Ok(serial)
}

/// The serial for a new online certificate: the one in `ca.srl` plus one, or random when the file
/// is absent (`openssl x509 -CAcreateserial`).
fn next_serial(serial_path: &Path) -> Result<BigNum> {
    match fs::read_to_string(serial_path) {
        Ok(text) => {
            let hex: String = text
                .chars()
                .filter(|c| c.is_ascii_hexdigit())
                .collect::<String>();
            match BigNum::from_hex_str(&hex) {
                Ok(mut serial) => {
                    serial.add_word(1)?;
                    Ok(serial)
                }
                Err(_) => random_serial(),
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => random_serial(),
        Err(error) => Err(io_error(serial_path)(error)),
    }
}

/// `ca.srl` content: upper-case hex, two digits per byte, and a newline (OpenSSL `save_serial`).
fn serial_file_text(serial: &BigNum) -> Result<String> {
    let bytes = serial.to_vec();
    let mut text: String = if bytes.is_empty() {
        "00".to_string()
    } else {
        bytes.iter().map(|byte| format!("{byte:02X}")).collect()
    };
    text.push('\n');
    Ok(text)
}

fn validity() -> Result<(Asn1Time, Asn1Time)> {
    Ok((
        Asn1Time::days_from_now(0)?,
        Asn1Time::days_from_now(VALIDITY_DAYS)?,
    ))
}

/// Self-signed CA certificate (`openssl req -new -x509 -days 999999 -extensions v3`).
fn build_ca_certificate(key: &PKey<Private>) -> Result<X509> {
    let name = ca_name()?;
    let (not_before, not_after) = validity()?;
    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let serial = random_serial()?;
    let serial = Asn1Integer::from_bn(&serial)?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.set_pubkey(key)?;
    let subject_key_id = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
    builder.append_extension(subject_key_id)?;
    let authority_key_id = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&builder.x509v3_context(None, None))?;
    builder.append_extension(authority_key_id)?;
    builder.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    builder.sign(key, MessageDigest::null())?;
    Ok(builder.build())
}

/// The request for the online certificate, carrying the `v3` extensions (`openssl req -reqexts v3`).
fn build_request(key: &PKey<Private>, subject: &X509Name) -> Result<X509Req> {
    let mut builder = X509ReqBuilder::new()?;
    builder.set_version(0)?;
    builder.set_subject_name(subject)?;
    builder.set_pubkey(key)?;
    let mut extensions = Stack::new()?;
    for extension in online_extensions()? {
        extensions.push(extension)?;
    }
    builder.add_extensions(&extensions)?;
    builder.sign(key, MessageDigest::null())?;
    Ok(builder.build())
}

fn online_extensions() -> Result<Vec<openssl::x509::X509Extension>> {
    Ok(vec![
        BasicConstraints::new().build()?,
        KeyUsage::new()
            .digital_signature()
            .non_repudiation()
            .key_agreement()
            .build()?,
        ExtendedKeyUsage::new().server_auth().build()?,
    ])
}

/// Online certificate signed by the CA (`openssl x509 -req -days 999999 -extensions v3`; OpenSSL 3
/// adds the subject and authority key identifiers after the configured extensions).
fn build_server_certificate(
    key: &PKey<Private>,
    subject: &X509Name,
    ca_key: &PKey<Private>,
    ca_cert: &X509,
    serial: &BigNum,
) -> Result<X509> {
    let (not_before, not_after) = validity()?;
    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let serial = Asn1Integer::from_bn(serial)?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(subject)?;
    builder.set_issuer_name(ca_cert.subject_name())?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.set_pubkey(key)?;
    for extension in online_extensions()? {
        builder.append_extension(extension)?;
    }
    let subject_key_id =
        SubjectKeyIdentifier::new().build(&builder.x509v3_context(Some(ca_cert), None))?;
    builder.append_extension(subject_key_id)?;
    let authority_key_id = AuthorityKeyIdentifier::new()
        .keyid(false)
        .build(&builder.x509v3_context(Some(ca_cert), None))?;
    builder.append_extension(authority_key_id)?;
    builder.sign(ca_key, MessageDigest::null())?;
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::x509::X509VerifyResult;

    /// `tests/fixtures/ca.crt` of the reference test suite (Ed448 CA).
    const REFERENCE_CA_CRT: &str = r#"-----BEGIN CERTIFICATE-----
MIIBtjCCATagAwIBAgIUe2PryrWo0xXX9vcA3WfbCzcdmgAwBQYDK2VxMCoxFjAU
BgNVBAMMDVNNUCBzZXJ2ZXIgQ0ExEDAOBgNVBAoMB1NpbXBsZVgwIBcNMjIwMTEx
MTExNjM5WhgPNDc1OTEyMDgxMTE2MzlaMCoxFjAUBgNVBAMMDVNNUCBzZXJ2ZXIg
Q0ExEDAOBgNVBAoMB1NpbXBsZVgwQzAFBgMrZXEDOgCAcvFwVicR+RLZpiEWPFNR
XYTbf+mFcX1NHIyPQDugFwOCgqJAW1fsjYgFhtQJSMH/lc1N7clfm4CjUzBRMB0G
A1UdDgQWBBQcUJvR7mm26yxMQfCsWgbnwMmJVDAfBgNVHSMEGDAWgBQcUJvR7mm2
6yxMQfCsWgbnwMmJVDAPBgNVHRMBAf8EBTADAQH/MAUGAytlcQNzAAAP/hMPNxyW
fyJi+iJViodU+C/aklnvHtjh5P3AbiVCSUfY6+PEdvkC8Ov0pBAYpYi5ukSNNVXl
ABVRlipB+vOcLQStNyaZ7kXzQ2IO/0btmIidh+G6SP8I4aytYIYYcV5pEUZpG1L1
57g8P29SDv81AA==
-----END CERTIFICATE-----
"#;
    /// `tests/fixtures/server.crt` of the reference test suite, signed by the CA above.
    const REFERENCE_SERVER_CRT: &str = r#"-----BEGIN CERTIFICATE-----
MIIBvDCCATygAwIBAgIUUgqht3ibEJ9jp5JuroML5Baxa/IwBQYDK2VxMCoxFjAU
BgNVBAMMDVNNUCBzZXJ2ZXIgQ0ExEDAOBgNVBAoMB1NpbXBsZVgwIBcNMjIwMTEx
MTYzOTQ2WhgPNDc1OTEyMDgxNjM5NDZaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBD
MAUGAytlcQM6AFj+fmjmgOMBFgQ7lXfICSlSaB5sYp1wzhM2IaqgmVhWbDs3Tw7W
oUXFJsWpKku1kFjLH2yhqIInAKNvMG0wCQYDVR0TBAIwADALBgNVHQ8EBAMCA8gw
EwYDVR0lBAwwCgYIKwYBBQUHAwEwHQYDVR0OBBYEFMjbHbxESDI8YDPjJ8kXWjkg
jHxmMB8GA1UdIwQYMBaAFBxQm9HuabbrLExB8KxaBufAyYlUMAUGAytlcQNzAP98
RpFacmjxsc07GwC07uAxUxNgxX4R2nA+0St866uFbdyxApiyn44giG+m+YXCXLjh
1ffKEhhqAPdlpzByLarx8EWgmOsisBCRWrmraksOV15FKxjPqm7OYKp4f9GvieAQ
o/SKOyZVVdcZX7NcuDUxAA==
-----END CERTIFICATE-----
"#;

    #[test]
    fn reference_fixture_fingerprint() {
        // identity of the reference test server (`tests/SMPClient.hs` `testKeyHash`)
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(CA_CRT_FILE), REFERENCE_CA_CRT).unwrap();
        let identity = load_fingerprint(dir.path()).unwrap();
        assert_eq!(
            identity.to_text(),
            "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI="
        );
        fs::write(
            dir.path().join(FINGERPRINT_FILE),
            "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=\n",
        )
        .unwrap();
        assert_eq!(check_saved_fingerprint(dir.path()).unwrap(), identity);
    }

    #[test]
    fn reference_fixture_online_identity() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(SERVER_CRT_FILE), REFERENCE_SERVER_CRT).unwrap();
        let (algorithm, common_name) = online_certificate_identity(dir.path()).unwrap();
        assert_eq!(algorithm, SignAlgorithm::Ed448);
        assert_eq!(common_name, "localhost");
    }

    #[test]
    fn fingerprint_mismatch_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(CA_CRT_FILE), REFERENCE_CA_CRT).unwrap();
        fs::write(
            dir.path().join(FINGERPRINT_FILE),
            "AAAAMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=\n",
        )
        .unwrap();
        let error = check_saved_fingerprint(dir.path()).unwrap_err();
        assert_eq!(error.to_string(), "Stored fingerprint is invalid.");
    }

    fn check_generated(algorithm: SignAlgorithm, nid: Nid) {
        let dir = tempfile::tempdir().unwrap();
        let identity = create_server_credentials(dir.path(), "smp.example.com", algorithm).unwrap();
        let ca = X509::from_pem(&fs::read(dir.path().join(CA_CRT_FILE)).unwrap()).unwrap();
        let server = X509::from_pem(&fs::read(dir.path().join(SERVER_CRT_FILE)).unwrap()).unwrap();
        // identity and fingerprint file
        assert_eq!(identity, KeyHash::of_certificate(&ca.to_der().unwrap()));
        let saved = fs::read_to_string(dir.path().join(FINGERPRINT_FILE)).unwrap();
        assert_eq!(saved, format!("{}\n", identity.to_text()));
        assert_eq!(check_saved_fingerprint(dir.path()).unwrap(), identity);
        // algorithms, subjects, chain
        assert_eq!(ca.signature_algorithm().object().nid(), nid);
        assert_eq!(server.signature_algorithm().object().nid(), nid);
        let ca_subject: Vec<(Nid, String)> = ca
            .subject_name()
            .entries()
            .map(|e| (e.object().nid(), e.data().to_string().unwrap()))
            .collect();
        assert_eq!(
            ca_subject,
            vec![
                (Nid::COMMONNAME, "SMP server CA".to_string()),
                (Nid::ORGANIZATIONNAME, "SimpleX".to_string())
            ]
        );
        assert_eq!(ca.issued(&server), X509VerifyResult::OK);
        assert_eq!(ca.issued(&ca), X509VerifyResult::OK);
        assert!(server.verify(&ca.public_key().unwrap()).unwrap());
        assert!(ca.verify(&ca.public_key().unwrap()).unwrap());
        assert_eq!(
            online_certificate_identity(dir.path()).unwrap(),
            (algorithm, "smp.example.com".to_string())
        );
        // private keys are PKCS#8 PEM, owner-only
        for file in [CA_KEY_FILE, SERVER_KEY_FILE] {
            let pem = fs::read_to_string(dir.path().join(file)).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let mode = fs::metadata(dir.path().join(file)).unwrap().permissions();
            assert_eq!(
                std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
                0o600
            );
        }
        // validity: 999999 days ahead, i.e. far beyond 4700
        let far = Asn1Time::days_from_now(VALIDITY_DAYS - 1).unwrap();
        assert!(server.not_after() > far);
        assert!(ca.not_after() > far);
        // loading for TLS
        let credentials = ServerCredentials::load(dir.path()).unwrap();
        assert_eq!(credentials.identity, identity);
        assert_eq!(credentials.algorithm, algorithm);
        assert_eq!(credentials.chain.len(), 1);
        assert_eq!(credentials.chain[0].to_der().unwrap(), ca.to_der().unwrap());
        // serial file holds the online certificate serial
        let srl = fs::read_to_string(dir.path().join(CA_SERIAL_FILE)).unwrap();
        let serial = server.serial_number().to_bn().unwrap();
        assert_eq!(srl, serial_file_text(&serial).unwrap());
    }

    #[test]
    fn generated_ed25519_credentials() {
        check_generated(SignAlgorithm::Ed25519, Nid::from_raw(Id::ED25519.as_raw()));
    }

    #[test]
    fn generated_ed448_credentials() {
        check_generated(SignAlgorithm::Ed448, Nid::from_raw(Id::ED448.as_raw()));
    }

    #[test]
    fn new_online_certificate_keeps_identity() {
        let dir = tempfile::tempdir().unwrap();
        let identity =
            create_server_credentials(dir.path(), "1.2.3.4", SignAlgorithm::Ed25519).unwrap();
        let old = fs::read(dir.path().join(SERVER_CRT_FILE)).unwrap();
        let old_serial = X509::from_pem(&old)
            .unwrap()
            .serial_number()
            .to_bn()
            .unwrap();
        let again =
            create_online_certificate(dir.path(), "smp.example.org", SignAlgorithm::Ed448).unwrap();
        assert_eq!(identity, again);
        let new = X509::from_pem(&fs::read(dir.path().join(SERVER_CRT_FILE)).unwrap()).unwrap();
        let mut expected_serial = BigNum::new().unwrap();
        expected_serial
            .checked_add(&old_serial, &BigNum::from_u32(1).unwrap())
            .unwrap();
        assert_eq!(new.serial_number().to_bn().unwrap(), expected_serial);
        assert_eq!(
            online_certificate_identity(dir.path()).unwrap(),
            // the reference reads the *signature* algorithm, i.e. the CA's (`CLI.genOnline`)
            (SignAlgorithm::Ed25519, "smp.example.org".to_string())
        );
        let credentials = ServerCredentials::load(dir.path()).unwrap();
        assert_eq!(credentials.algorithm, SignAlgorithm::Ed448);
    }

    #[test]
    fn missing_files_are_listed_in_reference_order() {
        let dir = tempfile::tempdir().unwrap();
        let error = ServerCredentials::load(dir.path()).unwrap_err();
        let text = error.to_string();
        let ca = dir.path().join(CA_CRT_FILE);
        let crt = dir.path().join(SERVER_CRT_FILE);
        let key = dir.path().join(SERVER_KEY_FILE);
        assert_eq!(
            text,
            format!(
                "Error: no SMP credentials: {}, {}, {}",
                ca.display(),
                crt.display(),
                key.display()
            )
        );
    }

    #[test]
    fn mismatched_key_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        create_server_credentials(dir.path(), "127.0.0.1", SignAlgorithm::Ed25519).unwrap();
        fs::copy(
            dir.path().join(CA_KEY_FILE),
            dir.path().join(SERVER_KEY_FILE),
        )
        .unwrap();
        let error = ServerCredentials::load(dir.path()).unwrap_err();
        assert_eq!(error.to_string(), "invalid credential");
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(
            SignAlgorithm::parse("ED25519"),
            Some(SignAlgorithm::Ed25519)
        );
        assert_eq!(SignAlgorithm::parse("ED448"), Some(SignAlgorithm::Ed448));
        assert_eq!(SignAlgorithm::parse("ed448"), None);
        assert_eq!(SignAlgorithm::Ed448.to_string(), "ED448");
    }
}
