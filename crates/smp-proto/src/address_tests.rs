use super::*;

const HASH: &str = "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=";

#[test]
fn server_address_text_forms() {
    // Protocol.hs: strEncodeServer / serverStrP; the port is printed only when it was given.
    for text in [
        format!("smp://{HASH}@localhost"),
        format!("smp://{HASH}@localhost:5001"),
        format!("smp://{HASH}:secret@smp.example.com,abcdefghij.onion:443"),
        format!("smp://{HASH}@127.0.0.1,::1"),
        format!("smp://{HASH}@2001:db8::1"),
    ] {
        let address = ServerAddress::parse(&text).unwrap();
        assert_eq!(address.to_string(), text);
    }
    let address = ServerAddress::parse(&format!("smp://{HASH}:pw@a.com,b.onion:05223")).unwrap();
    assert_eq!(address.server.port, "5223");
    assert_eq!(
        address.basic_auth.as_ref().map(BasicAuth::as_bytes),
        Some(&b"pw"[..])
    );
    assert_eq!(
        address.server.hosts,
        vec![
            TransportHost::Domain("a.com".into()),
            TransportHost::Onion("b.onion".into())
        ]
    );
    let default = ServerAddress::parse(&format!("smp://{HASH}@[::1]")).unwrap();
    assert_eq!(default.server.port, "");
    assert_eq!(default.server.port_or_default(), 5223);
    assert_eq!(default.to_string(), format!("smp://{HASH}@::1"));
}

#[test]
fn malformed_server_addresses() {
    for text in [
        format!("xftp://{HASH}@localhost"),
        format!("smp://{HASH}localhost"),
        format!("smp://{HASH}@"),
        format!("smp://{HASH}@host:"),
        format!("smp://{HASH}@host:12x"),
        format!("smp://{HASH}:@host"),
        format!("smp://{HASH}:a b@host"),
        format!("smp://{HASH}@Bad.onion"),
        "smp://short@host".to_owned(),
    ] {
        assert!(ServerAddress::parse(&text).is_err(), "{text}");
    }
}

#[test]
fn host_forms() {
    // Transport/Client.hs: instance StrEncoding TransportHost.
    assert_eq!(
        TransportHost::parse("1.2.3.4"),
        Ok(TransportHost::Ipv4([1, 2, 3, 4].into()))
    );
    // Last number is read as Word8 and wraps; an out-of-range earlier number makes it a domain.
    assert_eq!(
        TransportHost::parse("1.2.3.300"),
        Ok(TransportHost::Ipv4([1, 2, 3, 44].into()))
    );
    assert_eq!(
        TransportHost::parse("300.1.1.1"),
        Ok(TransportHost::Domain("300.1.1.1".into()))
    );
    assert_eq!(
        TransportHost::parse("fe80::1"),
        Ok(TransportHost::Ipv6("fe80::1".parse().unwrap()))
    );
    assert_eq!(
        TransportHost::parse("abc.onion"),
        Ok(TransportHost::Onion("abc.onion".into()))
    );
    assert!(TransportHost::parse("x.y.onion").is_err());
    assert!(TransportHost::parse("").is_err());
    assert!(TransportHost::parse("a b").is_err());
}

#[test]
fn server_binary_form() {
    // Protocol.hs: instance Encoding (ProtocolServer p) = (hosts, port, keyHash).
    let server = SmpServer {
        hosts: vec![TransportHost::Domain("a.io".into())],
        port: "443".into(),
        key_hash: KeyHash([7; 32]),
    };
    let bytes = server.to_bytes();
    let mut expected = b"\x01\x04a.io\x03443\x20".to_vec();
    expected.extend_from_slice(&[7; 32]);
    assert_eq!(bytes, expected);
    assert_eq!(SmpServer::from_bytes(&bytes), Ok(server));
    assert!(SmpServer::from_bytes(b"\x00\x00\x00").is_err());
}

#[test]
fn basic_auth_characters() {
    // Protocol.hs: basicAuth validity (isPrint, not isSpace, not '@' ':' '/').
    assert!(BasicAuth::new(b"p4ss-w0rd!".to_vec()).is_ok());
    assert!(BasicAuth::new("pässwörd".as_bytes().to_vec()).is_ok());
    for bad in [
        &b"a b"[..],
        b"a@b",
        b"a:b",
        b"a/b",
        b"\x7f",
        b"\xa0",
        b"\xad",
        b"\x09",
    ] {
        assert!(BasicAuth::new(bad.to_vec()).is_err(), "{bad:?}");
    }
    assert_eq!(
        format!("{:?}", BasicAuth::new(b"x".to_vec()).unwrap()),
        "BasicAuth(<redacted>)"
    );
}

#[test]
fn decimal_fields_wrap_like_haskell_int() {
    // Transport/Client.hs ipNum and Protocol.hs serverStrP portP read `Int` decimals, which wrap
    // modulo 2^64: 18446744073709551617 is 1; 9223372036854775808 prints as a negative number.
    assert_eq!(
        TransportHost::parse("18446744073709551617.2.3.4"),
        Ok(TransportHost::Ipv4([1, 2, 3, 4].into()))
    );
    let address = ServerAddress::parse(&format!("smp://{HASH}@h.io:18446744073709551621")).unwrap();
    assert_eq!(address.server.port, "5");
    let address = ServerAddress::parse(&format!("smp://{HASH}@h.io:9223372036854775808")).unwrap();
    assert_eq!(address.server.port, "-9223372036854775808");
    assert_eq!(address.server.port_or_default(), 5223);
}
