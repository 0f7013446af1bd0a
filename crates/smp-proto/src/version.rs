//! SMP protocol versions (`Simplex.Messaging.Version`, the version constants of
//! `Simplex.Messaging.Transport`): a [`Version`] is a `u16`, a [`VersionRange`] is `u16 min, u16 max`
//! with `min <= max`, and every wire feature is gated on the negotiated version by one of the
//! constants below.

use crate::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

/// One SMP version (`Version.Internal: Version`), `u16` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u16);

impl Version {
    /// Baseline of this implementation: batching, basic auth and subscription mode in NEW
    /// (`Transport._subModeSMPVersion`).
    pub const SUB_MODE: Version = Version(6);
    /// Cert chain and signed session key in the server hello, X25519 authenticators
    /// (`Transport.authCmdsSMPVersion`).
    pub const AUTH_CMDS: Version = Version(7);
    /// Proxied sending commands (`Transport.sendingProxySMPVersion`).
    pub const SENDING_PROXY: Version = Version(8);
    /// SKEY and `sndSecure` (`Transport.sndAuthKeySMPVersion`).
    pub const SND_AUTH_KEY: Version = Version(9);
    /// DELD event (`Transport.deletedEventSMPVersion`).
    pub const DELETED_EVENT: Version = Version(10);
    /// Per-direction block encryption chain (`Transport.encryptedBlockSMPVersion`).
    pub const ENCRYPTED_BLOCK: Version = Version(11);
    /// `ERR BLOCKED` (`Transport.blockedEntitySMPVersion`).
    pub const BLOCKED_ENTITY: Version = Version(12);
    /// `proxyServer` flag in the client hello (`Transport.proxyServerHandshakeSMPVersion`).
    pub const PROXY_SERVER_HANDSHAKE: Version = Version(14);
    /// Queue modes and link data (`Transport.shortLinksSMPVersion`).
    pub const SHORT_LINKS: Version = Version(15);
    /// Service certificates (`Transport.serviceCertsSMPVersion`).
    pub const SERVICE_CERTS: Version = Version(16);
    /// Notifier credentials in NEW/IDS (`Transport.newNtfCredsSMPVersion`).
    pub const NEW_NTF_CREDS: Version = Version(17);
    /// Client notices in `ERR BLOCKED` (`Transport.clientNoticesSMPVersion`).
    pub const CLIENT_NOTICES: Version = Version(18);

    /// Lowest version the server accepts (`Transport.minServerSMPRelayVersion`).
    pub const MIN_SERVER: Version = Version(6);
    /// Highest version the server speaks (`Transport.currentServerSMPRelayVersion`).
    pub const CURRENT_SERVER: Version = Version(18);
    /// Upper bound advertised when the TLS handshake negotiated no ALPN
    /// (`Transport.legacyServerSMPRelayVersion`).
    pub const LEGACY_SERVER: Version = Version(6);
    /// Highest version used for proxied transmissions (`Transport.proxiedSMPRelayVersion`).
    pub const PROXIED_RELAY: Version = Version(17);

    /// Largest SEND body accepted at this version (`Protocol.maxMessageLength`).
    pub fn max_message_length(self) -> usize {
        if self >= Version::ENCRYPTED_BLOCK {
            16048
        } else if self >= Version::SENDING_PROXY {
            16064
        } else {
            16088
        }
    }
}

impl Encode for Version {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16(self.0);
    }
}

impl Decode for Version {
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        reader.u16().map(Version)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A non-empty range of versions (`Version.VersionRange`); the fields are private so that
/// `min <= max` always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionRange {
    min: Version,
    max: Version,
}

impl VersionRange {
    /// Versions the server supports (`Transport.supportedServerSMPRelayVRange`): 6..18.
    pub const SUPPORTED_SERVER: VersionRange = VersionRange {
        min: Version::MIN_SERVER,
        max: Version::CURRENT_SERVER,
    };
    /// Advertised without ALPN (`Transport.legacyServerSMPRelayVRange`): 6..6.
    pub const LEGACY_SERVER: VersionRange = VersionRange {
        min: Version::MIN_SERVER,
        max: Version::LEGACY_SERVER,
    };
    /// Versions a proxy may use towards a destination relay (`Transport.proxiedSMPRelayVRange`): 8..17.
    pub const PROXIED_RELAY: VersionRange = VersionRange {
        min: Version::SENDING_PROXY,
        max: Version::PROXIED_RELAY,
    };

    /// `Version.safeVersionRange`: `None` when `min > max`.
    pub fn new(min: Version, max: Version) -> Option<Self> {
        (min <= max).then_some(VersionRange { min, max })
    }

    /// `Version.versionToRange`.
    pub fn single(version: Version) -> Self {
        VersionRange {
            min: version,
            max: version,
        }
    }

    pub fn min(&self) -> Version {
        self.min
    }

    pub fn max(&self) -> Version {
        self.max
    }

    /// `Version.isCompatible`: `version` lies inside the range.
    pub fn contains(&self, version: Version) -> bool {
        self.min <= version && version <= self.max
    }

    /// `Version.isCompatibleRange`: the ranges overlap.
    pub fn overlaps(&self, other: &VersionRange) -> bool {
        self.min <= other.max && other.min <= self.max
    }

    /// `Version.compatibleVersion`: the highest common version, if the ranges overlap.
    pub fn compatible_version(&self, other: &VersionRange) -> Option<Version> {
        self.overlaps(other).then(|| self.max.min(other.max))
    }

    /// `Version.compatibleVRange`: the intersection of two ranges.
    pub fn intersect(&self, other: &VersionRange) -> Option<VersionRange> {
        VersionRange::new(self.min.max(other.min), self.max.min(other.max))
    }

    /// `Version.compatibleVRange'`: this range capped at `version`; `None` when `version` is above
    /// this range's maximum (no capping upwards) or below its minimum.
    pub fn capped_at(&self, version: Version) -> Option<VersionRange> {
        if version <= self.max {
            VersionRange::new(self.min, version)
        } else {
            None
        }
    }
}

impl Encode for VersionRange {
    fn encode(&self, out: &mut Vec<u8>) {
        self.min.encode(out);
        self.max.encode(out);
    }
}

impl Decode for VersionRange {
    /// `instance Encoding VersionRange`: fails when `min > max`.
    fn decode(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let min = Version::decode(reader)?;
        let max = Version::decode(reader)?;
        VersionRange::new(min, max).ok_or(DecodeError::Malformed("version range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: u16, max: u16) -> VersionRange {
        VersionRange::new(Version(min), Version(max)).unwrap()
    }

    #[test]
    fn server_range_wire_form() {
        // Version.hs `instance Encoding VersionRange` = smpEncode (v1, v2), Word16 big-endian.
        assert_eq!(
            VersionRange::SUPPORTED_SERVER.to_bytes(),
            [0x00, 0x06, 0x00, 0x12]
        );
        assert_eq!(
            VersionRange::from_bytes(&[0x00, 0x06, 0x00, 0x12]),
            Ok(range(6, 18))
        );
        assert_eq!(
            VersionRange::LEGACY_SERVER.to_bytes(),
            [0x00, 0x06, 0x00, 0x06]
        );
    }

    #[test]
    fn decode_rejects_inverted_and_short_ranges() {
        assert_eq!(
            VersionRange::from_bytes(&[0x00, 0x07, 0x00, 0x06]),
            Err(DecodeError::Malformed("version range"))
        );
        assert!(matches!(
            VersionRange::from_bytes(&[0x00, 0x06, 0x00]),
            Err(DecodeError::NeedMore(_))
        ));
        assert!(matches!(
            VersionRange::from_bytes(&[0x00, 0x06, 0x00, 0x07, 0x00]),
            Err(DecodeError::Trailing(1))
        ));
    }

    #[test]
    fn intersection_and_compatibility() {
        let server = VersionRange::SUPPORTED_SERVER;
        assert_eq!(server.intersect(&range(4, 9)), Some(range(6, 9)));
        assert_eq!(server.intersect(&range(19, 20)), None);
        assert_eq!(server.compatible_version(&range(10, 30)), Some(Version(18)));
        assert_eq!(server.compatible_version(&range(1, 5)), None);
        assert!(server.contains(Version(6)) && server.contains(Version(18)));
        assert!(!server.contains(Version(5)) && !server.contains(Version(19)));
    }

    #[test]
    fn capped_at_follows_compatible_vrange_prime() {
        let server = VersionRange::SUPPORTED_SERVER;
        assert_eq!(server.capped_at(Version(17)), Some(range(6, 17)));
        assert_eq!(server.capped_at(Version(18)), Some(range(6, 18)));
        assert_eq!(server.capped_at(Version(19)), None);
        assert_eq!(server.capped_at(Version(5)), None);
    }

    #[test]
    fn max_message_length_per_version() {
        // Protocol.hs maxMessageLength.
        let expected = [
            (6, 16088),
            (7, 16088),
            (8, 16064),
            (10, 16064),
            (11, 16048),
            (18, 16048),
        ];
        for (version, length) in expected {
            assert_eq!(Version(version).max_message_length(), length, "v{version}");
        }
    }

    #[test]
    fn feature_constants_match_the_version_table() {
        let constants = [
            Version::SUB_MODE,
            Version::AUTH_CMDS,
            Version::SENDING_PROXY,
            Version::SND_AUTH_KEY,
            Version::DELETED_EVENT,
            Version::ENCRYPTED_BLOCK,
            Version::BLOCKED_ENTITY,
            Version::PROXY_SERVER_HANDSHAKE,
            Version::SHORT_LINKS,
            Version::SERVICE_CERTS,
            Version::NEW_NTF_CREDS,
            Version::CLIENT_NOTICES,
        ];
        let numbers: Vec<u16> = constants.iter().map(|v| v.0).collect();
        assert_eq!(numbers, [6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18]);
        assert_eq!(VersionRange::PROXIED_RELAY, range(8, 17));
    }
}
