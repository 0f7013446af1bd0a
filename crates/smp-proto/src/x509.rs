//! Certificate chains and signed session keys as SMP carries them in handshakes and `PKEY`
//! (`Crypto.encodeCertChain` / `certChainP`, `Crypto.SignedObject`, `Transport.CertChainPubKey`).
//!
//! Certificates stay opaque DER here (the TLS layer validates them with OpenSSL); this module only
//! checks that each one is a single well-formed DER `SEQUENCE`. The signed session key is the X.509
//! `SIGNED { SubjectPublicKeyInfo, AlgorithmIdentifier, BIT STRING }` structure, built and read with a
//! small strict DER reader. Signing and verifying are left to the caller (closures / returned bytes),
//! so this crate needs no EdDSA implementation.

use crate::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};
use crate::keys::PublicKey;

const TAG_SEQUENCE: u8 = 0x30;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OID: u8 = 0x06;
/// OID 1.3.101.112 (Ed25519) content bytes.
const OID_ED25519: [u8; 3] = [0x2b, 0x65, 0x70];
/// OID 1.3.101.113 (Ed448) content bytes.
const OID_ED448: [u8; 3] = [0x2b, 0x65, 0x71];

/// A TLS certificate chain, leaf first: `ne8(s16(DER certificate))` (`Crypto.encodeCertChain`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CertChain(Vec<Vec<u8>>);

impl CertChain {
    /// Wraps 1..=255 DER certificates, leaf first; each must be one DER `SEQUENCE` of at most
    /// 65535 bytes.
    pub fn new(certificates: Vec<Vec<u8>>) -> DecodeResult<Self> {
        if certificates.is_empty() || certificates.len() > 255 {
            return Err(DecodeError::Malformed("certificate chain length"));
        }
        for certificate in &certificates {
            check_certificate(certificate)?;
        }
        Ok(CertChain(certificates))
    }

    /// The DER certificates, leaf first.
    pub fn certificates(&self) -> &[Vec<u8>] {
        &self.0
    }

    /// The leaf (first) certificate. A chain is never empty.
    pub fn leaf(&self) -> &[u8] {
        self.0.first().map(Vec::as_slice).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a chain holds at least one certificate.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for CertChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sizes: Vec<usize> = self.0.iter().map(Vec::len).collect();
        write!(f, "CertChain(DER sizes {sizes:?})")
    }
}

fn check_certificate(der: &[u8]) -> DecodeResult<()> {
    if der.len() > 65535 {
        return Err(DecodeError::Malformed(
            "certificate longer than 65535 bytes",
        ));
    }
    let mut reader = DerReader::new(der);
    reader.element(TAG_SEQUENCE, "certificate")?;
    reader.finish("certificate")
}

impl Encode for CertChain {
    fn encode(&self, out: &mut Vec<u8>) {
        // Length <= 255 and each certificate <= 65535 bytes: checked by `new`/`decode`.
        out.put_u8(self.0.len() as u8);
        for certificate in &self.0 {
            out.put_large(certificate);
        }
    }
}

impl Decode for CertChain {
    /// `Crypto.certChainP`.
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let certificates = reader.non_empty8(|r| r.large_bytes().map(<[u8]>::to_vec))?;
        CertChain::new(certificates)
    }
}

/// The EdDSA algorithm of a signed object (`Crypto.signatureAlgorithmX509`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    Ed25519,
    Ed448,
}

impl SignatureAlgorithm {
    fn oid(self) -> &'static [u8; 3] {
        match self {
            SignatureAlgorithm::Ed25519 => &OID_ED25519,
            SignatureAlgorithm::Ed448 => &OID_ED448,
        }
    }

    /// Raw signature length (`Crypto.signatureBytes`).
    pub fn signature_length(self) -> usize {
        match self {
            SignatureAlgorithm::Ed25519 => 64,
            SignatureAlgorithm::Ed448 => 114,
        }
    }
}

/// An X.509 `SIGNED` object: `s16(DER)` on the wire (`Crypto.SignedObject`). SMP signs a public key
/// (the session key) with the sender's TLS leaf key. The exact received DER is kept, so re-encoding
/// reproduces it byte for byte.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SignedObject {
    der: Vec<u8>,
    signed: std::ops::Range<usize>,
    algorithm: Option<SignatureAlgorithm>,
    signature: std::ops::Range<usize>,
}

impl SignedObject {
    /// Signs `key` (its DER SubjectPublicKeyInfo) with `sign`, which must return the raw EdDSA
    /// signature of `algorithm` over the bytes it is given (`Crypto.signX509`).
    pub fn sign_key<E>(
        key: &PublicKey,
        algorithm: SignatureAlgorithm,
        sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<Self, E> {
        let spki = key.to_der();
        let signature = sign(&spki)?;
        let mut algorithm_id = Vec::with_capacity(7);
        put_element(&mut algorithm_id, TAG_OID, algorithm.oid());
        let mut bit_string = Vec::with_capacity(signature.len() + 1);
        bit_string.push(0); // no unused bits
        bit_string.extend_from_slice(&signature);
        let mut body = spki.clone();
        put_element(&mut body, TAG_SEQUENCE, &algorithm_id);
        put_element(&mut body, TAG_BIT_STRING, &bit_string);
        let mut der = Vec::with_capacity(body.len() + 4);
        put_element(&mut der, TAG_SEQUENCE, &body);
        let header = der.len() - body.len();
        let signed = header..header + spki.len();
        let signature = der.len() - signature.len()..der.len();
        Ok(SignedObject {
            der,
            signed,
            algorithm: Some(algorithm),
            signature,
        })
    }

    /// Parses the DER of a `SIGNED` structure (`X509.decodeSignedObject`).
    pub fn from_der(der: Vec<u8>) -> DecodeResult<Self> {
        let mut outer = DerReader::new(&der);
        let body = outer.element(TAG_SEQUENCE, "signed object")?;
        outer.finish("signed object")?;
        let body_start = outer.offset_of(body);
        let mut inner = DerReader::new(body);
        let (object_start, object) = inner.raw_element(TAG_SEQUENCE, "signed data")?;
        let algorithm_id = inner.element(TAG_SEQUENCE, "signature algorithm")?;
        let bits = inner.element(TAG_BIT_STRING, "signature")?;
        let bits_start = inner.offset_of(bits);
        inner.finish("signed object")?;
        let algorithm = {
            let mut fields = DerReader::new(algorithm_id);
            let oid = fields.element(TAG_OID, "signature algorithm")?;
            // Parameters, when present, are ignored (EdDSA identifiers carry none).
            if !fields.is_empty() {
                fields.any_element("algorithm parameters")?;
                fields.finish("signature algorithm")?;
            }
            if oid == OID_ED25519 {
                Some(SignatureAlgorithm::Ed25519)
            } else if oid == OID_ED448 {
                Some(SignatureAlgorithm::Ed448)
            } else {
                None
            }
        };
        match bits.first() {
            Some(0) => {}
            _ => return Err(DecodeError::Malformed("signature bit string")),
        }
        let signed = body_start + object_start..body_start + object_start + object.len();
        let signature = body_start + bits_start + 1..body_start + bits_start + bits.len();
        Ok(SignedObject {
            der,
            signed,
            algorithm,
            signature,
        })
    }

    /// The complete DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The bytes the signature covers (`X509.getSignedData`): the DER of the signed object.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.der[self.signed.clone()]
    }

    /// The signature algorithm, or `None` for an algorithm SMP does not use (verification fails).
    pub fn algorithm(&self) -> Option<SignatureAlgorithm> {
        self.algorithm
    }

    /// The raw signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.der[self.signature.clone()]
    }

    /// The signed object read as a public key (SubjectPublicKeyInfo).
    pub fn public_key(&self) -> DecodeResult<PublicKey> {
        PublicKey::from_der(self.signed_bytes())
    }
}

impl std::fmt::Debug for SignedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedObject")
            .field("key", &self.public_key().ok())
            .field("algorithm", &self.algorithm)
            .field("signature_length", &self.signature.len())
            .finish()
    }
}

impl Encode for SignedObject {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_large(&self.der);
    }
}

impl Decode for SignedObject {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        SignedObject::from_der(reader.large_bytes()?.to_vec())
    }
}

/// A certificate chain and a session key signed by its leaf: `CertChain || SignedObject`
/// (`Transport.CertChainPubKey`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertChainPubKey {
    pub cert_chain: CertChain,
    pub signed_key: SignedObject,
}

impl Encode for CertChainPubKey {
    fn encode(&self, out: &mut Vec<u8>) {
        self.cert_chain.encode(out);
        self.signed_key.encode(out);
    }
}

impl Decode for CertChainPubKey {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(CertChainPubKey {
            cert_chain: CertChain::decode(reader)?,
            signed_key: SignedObject::decode(reader)?,
        })
    }
}

/// Appends one DER element with a definite, minimal length.
fn put_element(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = (length as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|byte| **byte == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

/// A strict DER reader: single-byte tags, definite minimal lengths.
struct DerReader<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> DerReader<'a> {
    fn new(input: &'a [u8]) -> Self {
        DerReader { input, position: 0 }
    }

    fn is_empty(&self) -> bool {
        self.position >= self.input.len()
    }

    fn finish(&self, what: &'static str) -> DecodeResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Malformed(what))
        }
    }

    /// Offset of `content` (a sub-slice returned by this reader) from the start of the input.
    fn offset_of(&self, content: &[u8]) -> usize {
        content.as_ptr() as usize - self.input.as_ptr() as usize
    }

    fn byte(&mut self, what: &'static str) -> DecodeResult<u8> {
        let byte = *self
            .input
            .get(self.position)
            .ok_or(DecodeError::Malformed(what))?;
        self.position += 1;
        Ok(byte)
    }

    /// Reads tag and length; returns (tag, content).
    fn tlv(&mut self, what: &'static str) -> DecodeResult<(u8, &'a [u8])> {
        let tag = self.byte(what)?;
        if tag & 0x1f == 0x1f {
            return Err(DecodeError::Malformed(what)); // multi-byte tags are not used here
        }
        let first = self.byte(what)?;
        let length = if first < 0x80 {
            first as usize
        } else {
            let count = (first & 0x7f) as usize;
            if count == 0 || count > 4 {
                return Err(DecodeError::Malformed(what)); // indefinite or absurd length
            }
            let mut length = 0usize;
            for index in 0..count {
                let byte = self.byte(what)?;
                if index == 0 && byte == 0 {
                    return Err(DecodeError::Malformed(what)); // non-minimal length
                }
                length = (length << 8) | byte as usize;
            }
            if length < 0x80 {
                return Err(DecodeError::Malformed(what)); // long form for a short length
            }
            length
        };
        let end = self
            .position
            .checked_add(length)
            .filter(|end| *end <= self.input.len())
            .ok_or(DecodeError::Malformed(what))?;
        let content = &self.input[self.position..end];
        self.position = end;
        Ok((tag, content))
    }

    fn element(&mut self, tag: u8, what: &'static str) -> DecodeResult<&'a [u8]> {
        match self.tlv(what)? {
            (found, content) if found == tag => Ok(content),
            _ => Err(DecodeError::Malformed(what)),
        }
    }

    /// Like [`DerReader::element`] but returns the whole element (header included) and its offset.
    fn raw_element(&mut self, tag: u8, what: &'static str) -> DecodeResult<(usize, &'a [u8])> {
        let start = self.position;
        self.element(tag, what)?;
        Ok((start, &self.input[start..self.position]))
    }

    fn any_element(&mut self, what: &'static str) -> DecodeResult<()> {
        self.tlv(what).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_key() -> PublicKey {
        PublicKey::X25519([0x11; 32])
    }

    #[test]
    fn ed448_signed_session_key_layout() {
        // Crypto.signX509 over Crypto.publicToX509 of an X25519 key, Ed448 leaf. The BIT STRING holds
        // the unused-bits byte plus 114 signature bytes (0x73), so the DER is 171 bytes (spec §1.5
        // says 170 / `03 72`, which omits that byte).
        let signed = SignedObject::sign_key(&session_key(), SignatureAlgorithm::Ed448, |data| {
            assert_eq!(data, session_key().to_der());
            Ok::<_, ()>(vec![0xee; 114])
        })
        .unwrap();
        let der = signed.der();
        assert_eq!(der.len(), 171);
        assert_eq!(&der[..3], &[0x30, 0x81, 0xa8]);
        assert_eq!(&der[3..47], &session_key().to_der()[..]);
        assert_eq!(&der[47..54], &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71]);
        assert_eq!(&der[54..57], &[0x03, 0x73, 0x00]);
        assert_eq!(signed.to_bytes()[..2], [0x00, 0xab]);
        let parsed = SignedObject::from_bytes(&signed.to_bytes()).unwrap();
        assert_eq!(parsed, signed);
        assert_eq!(parsed.algorithm(), Some(SignatureAlgorithm::Ed448));
        assert_eq!(parsed.signature(), &[0xee; 114][..]);
        assert_eq!(parsed.signed_bytes(), &session_key().to_der()[..]);
        assert_eq!(parsed.public_key(), Ok(session_key()));
    }

    #[test]
    fn ed25519_signed_session_key_layout() {
        // Crypto.signX509 with an Ed25519 key: 120 bytes, `30 76`.
        let signed = SignedObject::sign_key(&session_key(), SignatureAlgorithm::Ed25519, |_| {
            Ok::<_, ()>(vec![0x5a; 64])
        })
        .unwrap();
        let der = signed.der();
        assert_eq!(der.len(), 120);
        assert_eq!(&der[..2], &[0x30, 0x76]);
        assert_eq!(&der[46..53], &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]);
        assert_eq!(&der[53..56], &[0x03, 0x41, 0x00]);
        let parsed = SignedObject::from_der(der.to_vec()).unwrap();
        assert_eq!(parsed.algorithm(), Some(SignatureAlgorithm::Ed25519));
        assert_eq!(parsed.signature(), &[0x5a; 64][..]);
    }

    #[test]
    fn signing_error_is_returned() {
        let result = SignedObject::sign_key(&session_key(), SignatureAlgorithm::Ed25519, |_| {
            Err("no key")
        });
        assert_eq!(result.err(), Some("no key"));
    }

    #[test]
    fn unknown_algorithm_parses_but_is_not_named() {
        let signed = SignedObject::sign_key(&session_key(), SignatureAlgorithm::Ed25519, |_| {
            Ok::<_, ()>(vec![1; 64])
        })
        .unwrap();
        let mut der = signed.der().to_vec();
        der[52] = 0x6e; // OID 1.3.101.110 (X25519) is not a signature algorithm
        let parsed = SignedObject::from_der(der).unwrap();
        assert_eq!(parsed.algorithm(), None);
    }

    #[test]
    fn malformed_der_is_rejected() {
        let signed = SignedObject::sign_key(&session_key(), SignatureAlgorithm::Ed25519, |_| {
            Ok::<_, ()>(vec![1; 64])
        })
        .unwrap();
        let der = signed.der().to_vec();
        // Truncated.
        assert!(SignedObject::from_der(der[..der.len() - 1].to_vec()).is_err());
        // Trailing byte after the outer SEQUENCE.
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(SignedObject::from_der(trailing).is_err());
        // Non-minimal length: 0x81 0x76 instead of 0x76.
        let mut long_form = vec![0x30, 0x81];
        long_form.extend_from_slice(&der[1..]);
        assert!(SignedObject::from_der(long_form).is_err());
        // Indefinite length.
        let mut indefinite = der.clone();
        indefinite[1] = 0x80;
        assert!(SignedObject::from_der(indefinite).is_err());
        // Unused bits in the signature.
        let mut unused = der.clone();
        unused[55] = 1;
        assert!(SignedObject::from_der(unused).is_err());
        // Wrong outer tag.
        let mut tag = der;
        tag[0] = 0x31;
        assert!(SignedObject::from_der(tag).is_err());
    }

    #[test]
    fn cert_chain_wire_form() {
        // Crypto.encodeCertChain: ne8(s16(DER)).
        let leaf = vec![0x30, 0x03, 0x02, 0x01, 0x01];
        let ca = vec![0x30, 0x00];
        let chain = CertChain::new(vec![leaf.clone(), ca.clone()]).unwrap();
        let bytes = chain.to_bytes();
        assert_eq!(
            bytes,
            [0x02, 0x00, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01, 0x00, 0x02, 0x30, 0x00]
        );
        assert_eq!(CertChain::from_bytes(&bytes), Ok(chain.clone()));
        assert_eq!(chain.leaf(), &leaf[..]);
        // Empty chain, non-SEQUENCE certificate, certificate with trailing DER.
        assert!(CertChain::from_bytes(&[0x00]).is_err());
        assert!(CertChain::from_bytes(&[0x01, 0x00, 0x02, 0x04, 0x00]).is_err());
        assert!(CertChain::from_bytes(&[0x01, 0x00, 0x04, 0x30, 0x00, 0x30, 0x00]).is_err());
    }

    #[test]
    fn cert_chain_pub_key_round_trip() {
        let value = CertChainPubKey {
            cert_chain: CertChain::new(vec![vec![0x30, 0x00]]).unwrap(),
            signed_key: SignedObject::sign_key(&session_key(), SignatureAlgorithm::Ed25519, |_| {
                Ok::<_, ()>(vec![2; 64])
            })
            .unwrap(),
        };
        let bytes = value.to_bytes();
        assert_eq!(bytes.len(), 1 + 2 + 2 + 2 + 120);
        assert_eq!(CertChainPubKey::from_bytes(&bytes), Ok(value));
    }

    #[test]
    fn long_der_lengths_round_trip() {
        let mut out = Vec::new();
        put_element(&mut out, TAG_SEQUENCE, &vec![0u8; 300]);
        assert_eq!(&out[..4], &[0x30, 0x82, 0x01, 0x2c]);
        let mut reader = DerReader::new(&out);
        assert_eq!(reader.element(TAG_SEQUENCE, "x").map(<[u8]>::len), Ok(300));
    }
}
