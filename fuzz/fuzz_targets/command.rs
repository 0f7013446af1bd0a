//! Command parsing at every version: decode, re-encode, decode again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smp_proto::command::Command;
use smp_proto::version::Version;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let version = Version(6 + u16::from(selector % 13));
    if let Ok(command) = Command::parse(version, bytes) {
        let encoded = command.to_bytes(version);
        assert_eq!(Command::parse(version, &encoded), Ok(command));
    }
});
