//! Store log, message log and notification log lines (`smp-store`): decode; when that succeeds,
//! re-encode and decode again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smp_store::message_log::{encode_message_line, parse_message_line};
use smp_store::ntf_store::{encode_ntf_line, parse_ntf_line};
use smp_store::StoreLogRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = StoreLogRecord::parse(data) {
        let line = record.to_line();
        assert_eq!(StoreLogRecord::parse(&line).as_ref(), Ok(&record));
    }
    if let Ok((recipient_id, message)) = parse_message_line(data) {
        let mut line = Vec::new();
        encode_message_line(&mut line, &recipient_id, &message);
        assert_eq!(parse_message_line(&line), Ok((recipient_id, message)));
    }
    if let Ok((notifier_id, ntf)) = parse_ntf_line(data) {
        let mut line = Vec::new();
        encode_ntf_line(&mut line, &notifier_id, &ntf);
        assert_eq!(parse_ntf_line(&line), Ok((notifier_id, ntf)));
    }
});
