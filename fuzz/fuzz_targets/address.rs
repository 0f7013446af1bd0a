//! Server addresses in text and binary form: parse, print/encode, parse again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smp_proto::address::{ServerAddress, SmpServer};
use smp_proto::codec::{Decode, Encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // A port above i64::MAX wraps to a negative number that, as in the reference, does
        // not parse back.
        let reparsable = |port: &str| !port.starts_with('-');
        if let Some(address) = ServerAddress::parse(text)
            .ok()
            .filter(|address| reparsable(&address.server.port))
        {
            let printed = address.to_string();
            let again = ServerAddress::parse(&printed).expect("printed address parses");
            assert_eq!(again.to_string(), printed);
        }
    }
    if let Ok(server) = SmpServer::from_bytes(data) {
        assert_eq!(SmpServer::from_bytes(&server.to_bytes()), Ok(server));
    }
});
