use super::*;
use proptest::prelude::*;

// Vectors follow tests/AgentTests/ConnectionRequestTests.hs ("should serialize and parse SMP
// queue URIs"), with one change: the reference test server's 4-byte key hash `1234-w==` is
// replaced by a 32-byte one, because `KeyHash` here is always a SHA-256 (see README).
const HASH: &str = "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=";
const ONION: &str = "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion";
/// `testDhKeyStr` (strEncode of `testDhKey`): base64url of the X25519 DER.
const DH: &str = "MCowBQYDK2VuAyEAjiswwI3O_NlS8Fk3HJUW870EY2bAwmttMBsvRB9eV3o=";
/// `url testDhKeyStr` (`urlEncode True`).
const DH_URL: &str = "MCowBQYDK2VuAyEAjiswwI3O_NlS8Fk3HJUW870EY2bAwmttMBsvRB9eV3o%3D";

fn dh_key() -> DhPublicKey {
    dh_key_from_der(&decode_base64url(DH.as_bytes()).unwrap()).unwrap()
}

fn server(hosts: &[&str], port: &str) -> SmpServer {
    SmpServer {
        hosts: hosts
            .iter()
            .map(|h| TransportHost::parse(h).unwrap())
            .collect(),
        port: port.into(),
        key_hash: KeyHash::from_text(HASH).unwrap(),
    }
}

fn uri(min: u16, max: u16, hosts: &[&str], port: &str, mode: Option<QueueMode>) -> QueueUri {
    QueueUri {
        client_versions: VersionRange::new(Version(min), Version(max)).unwrap(),
        address: QueueAddress {
            server: server(hosts, port),
            sender_id: EntityId::new(b"\xdf\x8e\x7a\xfb".to_vec()).unwrap(),
            dh_public_key: dh_key(),
            queue_mode: mode,
        },
    }
}

/// `a #==# s`: prints as `s` and parses back from it.
fn both_ways(value: &QueueUri, text: &str) {
    assert_eq!(value.to_string(), text);
    assert_eq!(QueueUri::parse(text).as_ref(), Ok(value), "{text}");
}

#[test]
fn reference_queue_uris() {
    use QueueMode::{Contact, Messaging};
    let two = ["smp.simplex.im", ONION];
    let one = ["smp.simplex.im"];
    let base = format!("smp://{HASH}@smp.simplex.im:5223/3456-w==#/?v=1-4&dh={DH_URL}");
    // queue / queueStr: range from 1 → first host only, the rest in `srv`.
    let queue = uri(1, 4, &two, "5223", Some(Messaging));
    both_ways(&queue, &format!("{base}&q=m&k=s&srv={ONION}"));
    let key_in_fragment = format!(
        "smp://{HASH}@smp.simplex.im:5223/3456-w==#{DH}/?v=1-4&extra_param=abc&srv={ONION}&q=m&k=s"
    );
    assert_eq!(QueueUri::parse(&key_in_fragment), Ok(queue));
    both_ways(
        &uri(1, 4, &two, "5223", None),
        &format!("{base}&srv={ONION}"),
    );
    both_ways(
        &uri(1, 4, &two, "5223", Some(Contact)),
        &format!("{base}&q=c&srv={ONION}"),
    );
    both_ways(
        &uri(1, 4, &one, "5223", Some(Messaging)),
        &format!("{base}&q=m&k=s"),
    );
    // queueNew: range from 2 → all hosts in the server part.
    let new = uri(2, 4, &two, "5223", Some(Messaging));
    let new_text = format!("smp://{HASH}@smp.simplex.im,{ONION}:5223/3456-w==#/?v=2-4");
    both_ways(&new, &format!("{new_text}&dh={DH_URL}&q=m&k=s"));
    assert_eq!(
        QueueUri::parse(&format!("{new_text}&dh={DH}&q=m&k=s")),
        Ok(new)
    );
    both_ways(
        &uri(2, 4, &one, "5223", Some(Messaging)),
        &format!("smp://{HASH}@smp.simplex.im:5223/3456-w==#/?v=2-4&dh={DH_URL}&q=m&k=s"),
    );
    both_ways(
        &uri(2, 4, &two, "", Some(Messaging)),
        &format!("smp://{HASH}@smp.simplex.im,{ONION}/3456-w==#/?v=2-4&dh={DH_URL}&q=m&k=s"),
    );
    both_ways(
        &uri(2, 4, &one, "", Some(Messaging)),
        &format!("smp://{HASH}@smp.simplex.im/3456-w==#/?v=2-4&dh={DH_URL}&q=m&k=s"),
    );
    // queueV1: a single version prints as `v=1`; the older forms parse to it.
    let v1 = uri(1, 1, &two, "5223", None);
    let v1_prefix = format!("smp://{HASH}@smp.simplex.im:5223/3456-w==#");
    both_ways(&v1, &format!("{v1_prefix}/?v=1&dh={DH_URL}&srv={ONION}"));
    for text in [
        format!("smp://{HASH}@smp.simplex.im,{ONION}:5223/3456-w==#{DH}"),
        format!("{v1_prefix}/?extra_param=abc&v=1&dh={DH}&srv={ONION}"),
        format!("{v1_prefix}{DH}/?v=1&extra_param=abc&srv={ONION}"),
    ] {
        assert_eq!(QueueUri::parse(&text).as_ref(), Ok(&v1), "{text}");
    }
    let v1_no_port = uri(1, 1, &two, "", None);
    let prefix = format!("smp://{HASH}@smp.simplex.im/3456-w==#/?");
    both_ways(&v1_no_port, &format!("{prefix}v=1&dh={DH_URL}&srv={ONION}"));
    for text in [
        format!("{prefix}v=1-1&dh={DH_URL}&srv={ONION}"),
        format!("smp://{HASH}@smp.simplex.im,{ONION}/3456-w==#{DH}"),
    ] {
        assert_eq!(QueueUri::parse(&text).as_ref(), Ok(&v1_no_port), "{text}");
    }
}

#[test]
fn preset_hosts_are_extended_only_below_version_2() {
    // Agent/Protocol.hs: updateSMPServerHosts when maxVersion vr < srvHostnamesSMPClientVersion.
    let text = format!("smp://{HASH}@smp5.simplex.im/3456-w==#{DH}");
    let parsed = QueueUri::parse(&text).unwrap();
    assert_eq!(
        parsed.address.server,
        server(&["smp5.simplex.im", ONION], "")
    );
    let text = format!("smp://{HASH}@smp5.simplex.im/3456-w==#/?v=1-2&dh={DH}");
    let parsed = QueueUri::parse(&text).unwrap();
    assert_eq!(parsed.address.server, server(&["smp5.simplex.im"], ""));
}

#[test]
fn lenient_query_forms() {
    let prefix = format!("smp://{HASH}@a.example/AQID/#??v=3-4&dh={DH}");
    // `/` before `#`, a second `?` (parseSimpleQuery drops one), `;` as separator, `%` escapes
    // in keys, `+`, first value wins, unknown `q` with `k=s` is messaging.
    let parsed = QueueUri::parse(&format!("{prefix};%71=x&k=s&v=9")).unwrap();
    assert_eq!(parsed.address.queue_mode, Some(QueueMode::Messaging));
    assert_eq!(
        parsed.client_versions,
        VersionRange::new(Version(3), Version(4)).unwrap()
    );
    assert_eq!(parsed.address.sender_id.as_bytes(), [1, 2, 3]);
    // Word16 decimal wraps (`A.decimal`).
    let parsed = QueueUri::parse(&format!("smp://{HASH}@a.example/AQID#/?v=65537&dh={DH}"));
    assert_eq!(
        parsed.unwrap().client_versions,
        VersionRange::single(Version(1))
    );
    // `srv=` with no hosts is an empty list.
    let parsed = QueueUri::parse(&format!("smp://{HASH}@a.example/AQID#/?v=1&dh={DH}&srv="));
    assert_eq!(parsed.unwrap().address.server.hosts.len(), 1);
    assert_eq!(
        parse_simple_query(b"?a=1&&b;c=%zz%41+&"),
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (Vec::new(), Vec::new()),
            (b"b".to_vec(), Vec::new()),
            (b"c".to_vec(), b"%zzA ".to_vec()),
        ]
    );
}

#[test]
fn malformed_queue_uris() {
    let ok = format!("smp://{HASH}@a.example/AQID#/?v=1-4&dh={DH}");
    assert!(QueueUri::parse(&ok).is_ok());
    let x448 = "MEIwBQYDK2VvAzkAmKuSYeQ_m0SixPDS8Wq8VBaTS1cW-Lp0n0h4Diu-kUpR-qXx4SDJ32YGEFoGFGSbGPry5Ychr6U=";
    for text in [
        // 4-byte key hash of the reference tests: rejected here (KeyHash is 32 bytes).
        format!("smp://1234-w==@a.example/AQID#/?v=1-4&dh={DH}"),
        format!("smp://{HASH}:pass@a.example/AQID#/?v=1-4&dh={DH}"),
        format!("xftp://{HASH}@a.example/AQID#/?v=1-4&dh={DH}"),
        format!("smp://{HASH}@a.example/AQID#/?dh={DH}"),
        format!("smp://{HASH}@a.example/AQID#/?v=1-4"),
        format!("smp://{HASH}@a.example/AQID#/?v=4-1&dh={DH}"),
        format!("smp://{HASH}@a.example/AQID#/?v=&dh={DH}"),
        format!("smp://{HASH}@a.example/AQID#/?v=1-4x&dh={DH}"),
        format!("smp://{HASH}@a.example/AQID#/?v=1-4&dh={x448}"),
        format!("smp://{HASH}@a.example/AQID#/?v=1-4&dh={DH}x"),
        format!("smp://{HASH}@a.example/AQID#/?v=1-4&dh={DH}&srv=a,"),
        format!("{ok} "),
        format!("{ok}\nmore"),
        format!("smp://{HASH}@a.example/#/?v=1-4&dh={DH}"),
        format!("smp://{HASH}@a.example/AQID?v=1-4&dh={DH}"),
        format!("smp://{HASH}@a.example:/AQID#/?v=1-4&dh={DH}"),
        format!("smp://{HASH}@a.example/AQID#{DH}x"),
        format!("smp://{HASH}@a.example/AQID#"),
        format!("smp://{HASH}@a.example/AQID"),
    ] {
        assert!(QueueUri::parse(&text).is_err(), "{text}");
    }
}

#[test]
fn binary_forms() {
    // Agent/Protocol.hs: instance Encoding SMPQueueUri — the trailing mode byte depends on the
    // range: none below 3 unless messaging, `T`/`F` from 3, `M`/`C` from 4.
    let key = PublicKey::X25519(dh_key().0).to_bytes();
    let server = server(&["a.io"], "").to_bytes();
    let body = |min: u16, max: u16| {
        let mut out = vec![0, min as u8, 0, max as u8];
        out.extend_from_slice(&server);
        out.extend_from_slice(b"\x04\xdf\x8e\x7a\xfb");
        out.extend_from_slice(&key);
        out
    };
    for (min, max, mode, tail) in [
        (1, 2, Some(QueueMode::Messaging), &b""[..]),
        (1, 4, Some(QueueMode::Messaging), b"T"),
        (1, 4, Some(QueueMode::Contact), b""),
        (3, 4, Some(QueueMode::Contact), b"F"),
        (3, 4, None, b"F"),
        (4, 4, Some(QueueMode::Contact), b"C"),
        (4, 4, None, b""),
    ] {
        let value = uri(min, max, &["a.io"], "", mode);
        let mut expected = body(min, max);
        expected.extend_from_slice(tail);
        assert_eq!(value.to_bytes(), expected, "{min}-{max} {mode:?}");
    }
    // Decoding: `T` is messaging, `F` contact, `M`/`C` as is.
    let mut bytes = body(1, 4);
    bytes.push(b'F');
    let decoded = QueueUri::from_bytes(&bytes).unwrap();
    assert_eq!(decoded.address.queue_mode, Some(QueueMode::Contact));
    bytes.pop();
    bytes.push(b'x');
    assert!(QueueUri::from_bytes(&bytes).is_err());

    // SMPQueueInfo version 1: version, then the one-host legacy server (host, port, key hash).
    let info = QueueInfo {
        client_version: Version(1),
        address: uri(1, 1, &["smp4.simplex.im"], "5223", None).address,
    };
    let bytes = info.to_bytes();
    let mut expected = b"\x00\x01\x0fsmp4.simplex.im\x045223\x20".to_vec();
    expected.extend_from_slice(&KeyHash::from_text(HASH).unwrap().0);
    expected.extend_from_slice(b"\x04\xdf\x8e\x7a\xfb");
    expected.extend_from_slice(&key);
    assert_eq!(bytes, expected);
    let decoded = QueueInfo::from_bytes(&bytes).unwrap();
    assert_eq!(
        decoded.address.server.hosts[1],
        TransportHost::Onion(
            "o5vmywmrnaxalvz6wi3zicyftgio6psuvyniis6gco6bp6ekl4cqj4id.onion".into()
        )
    );
    let info = QueueInfo {
        client_version: Version(3),
        address: uri(1, 1, &["a.io"], "", Some(QueueMode::Messaging)).address,
    };
    let bytes = info.to_bytes();
    assert_eq!(bytes.last(), Some(&b'T'));
    assert_eq!(QueueInfo::from_bytes(&bytes), Ok(info));
}

fn host_strategy() -> impl Strategy<Value = TransportHost> {
    prop_oneof![
        "[a-z][a-z0-9]{0,7}\\.(com|net|example)".prop_map(TransportHost::Domain),
        "[a-z2-7]{16}\\.onion".prop_map(TransportHost::Onion),
        any::<[u8; 4]>().prop_map(|octets| TransportHost::Ipv4(octets.into())),
    ]
}

fn address_strategy() -> impl Strategy<Value = QueueAddress> {
    (
        prop::collection::vec(host_strategy(), 1..4),
        prop_oneof![
            Just(String::new()),
            any::<u16>().prop_map(|p| p.to_string())
        ],
        any::<[u8; 32]>(),
        prop::collection::vec(any::<u8>(), 1..40),
        any::<[u8; 32]>(),
        prop_oneof![
            Just(None),
            Just(Some(QueueMode::Messaging)),
            Just(Some(QueueMode::Contact))
        ],
    )
        .prop_map(|(hosts, port, hash, id, key, mode)| QueueAddress {
            server: SmpServer {
                hosts,
                port,
                key_hash: KeyHash(hash),
            },
            sender_id: EntityId::new(id).unwrap(),
            dh_public_key: DhPublicKey(key),
            queue_mode: mode,
        })
}

proptest! {
    #[test]
    fn text_round_trip(address in address_strategy(), min in 1u16..6, extra in 0u16..4) {
        let value = QueueUri {
            client_versions: VersionRange::new(Version(min), Version(min + extra)).unwrap(),
            address,
        };
        prop_assert_eq!(QueueUri::parse(&value.to_string()), Ok(value));
    }

    #[test]
    fn binary_round_trip(address in address_strategy(), min in 4u16..8, extra in 0u16..4) {
        // From version 4 every queue mode survives the binary form.
        let value = QueueUri {
            client_versions: VersionRange::new(Version(min), Version(min + extra)).unwrap(),
            address: address.clone(),
        };
        prop_assert_eq!(QueueUri::from_bytes(&value.to_bytes()), Ok(value));
        let info = QueueInfo { client_version: Version(min), address };
        prop_assert_eq!(QueueInfo::from_bytes(&info.to_bytes()), Ok(info));
    }

    #[test]
    fn parser_never_panics(text in "\\PC{0,120}") {
        let _ = QueueUri::parse(&text);
        let _ = QueueUri::from_bytes(text.as_bytes());
        let _ = QueueInfo::from_bytes(text.as_bytes());
    }

    #[test]
    fn url_encoding_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut text = String::new();
        url_encode(&bytes, &mut text);
        prop_assert_eq!(url_decode(text.as_bytes()), bytes);
    }
}
