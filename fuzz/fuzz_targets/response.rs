//! Server message parsing at every version: decode, re-encode, decode again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smp_proto::response::Response;
use smp_proto::version::Version;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let version = Version(6 + u16::from(selector % 13));
    if let Ok(response) = Response::parse(version, bytes) {
        let encoded = response.to_bytes(version);
        let again = Response::parse(version, &encoded).expect("re-encoded response parses");
        assert_eq!(again.to_bytes(version), encoded);
    }
});
