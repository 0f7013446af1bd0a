//! Handshake messages: decode (trailing bytes ignored), re-encode, decode again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smp_proto::codec::Encode;
use smp_proto::handshake::{parse_handshake, ClientHello, ServerHello, ServiceResponse};

fuzz_target!(|data: &[u8]| {
    if let Ok(hello) = parse_handshake::<ServerHello>(data) {
        assert_eq!(parse_handshake::<ServerHello>(&hello.to_bytes()), Ok(hello));
    }
    if let Ok(hello) = parse_handshake::<ClientHello>(data) {
        assert_eq!(parse_handshake::<ClientHello>(&hello.to_bytes()), Ok(hello));
    }
    if let Ok(response) = parse_handshake::<ServiceResponse>(data) {
        assert_eq!(parse_handshake::<ServiceResponse>(&response.to_bytes()), Ok(response));
    }
});
