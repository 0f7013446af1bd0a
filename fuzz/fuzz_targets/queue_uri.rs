//! Queue URIs: the text form parses, prints and parses again to the same value; the binary
//! `SMPQueueUri`/`SMPQueueInfo` forms decode without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smp_proto::codec::{Decode, Encode};
use smp_proto::queue_uri::{QueueInfo, QueueUri};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // A port above i64::MAX wraps to a negative number that does not parse back.
        if let Some(uri) = QueueUri::parse(text)
            .ok()
            .filter(|uri| !uri.address.server.port.starts_with('-'))
        {
            let printed = uri.to_string();
            let again = QueueUri::parse(&printed).expect("printed queue URI parses");
            assert_eq!(again.to_string(), printed);
        }
    }
    if let Ok(uri) = QueueUri::from_bytes(data) {
        assert!(QueueUri::from_bytes(&uri.to_bytes()).is_ok());
    }
    if let Ok(info) = QueueInfo::from_bytes(data) {
        assert!(QueueInfo::from_bytes(&info.to_bytes()).is_ok());
    }
});
