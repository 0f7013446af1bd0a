//! `smp-server.ini` (`smp-server` `config::ini::Ini`, `config::Config`): any text parses without
//! panicking; the sections and entries read, written back as INI text, read back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smp_server::config::ini::{Ini, Section};
use smp_server::config::Config;

fn put_entries(out: &mut String, section: &Section) {
    for (key, value) in section.entries() {
        out.push_str(key);
        out.push_str(" = ");
        out.push_str(value);
        out.push('\n');
    }
}

/// The entries of `ini` as INI text.
fn render(ini: &Ini) -> String {
    let mut out = String::new();
    put_entries(&mut out, ini.globals());
    for (name, section) in ini.sections() {
        out.push('[');
        out.push_str(name);
        out.push_str("]\n");
        put_entries(&mut out, section);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Config::parse(text);
    let ini = Ini::parse(text);
    let rendered = render(&ini);
    let again = Ini::parse(&rendered);
    assert_eq!(again.unparsed_line(), None, "{rendered:?}");
    assert_eq!(render(&again), rendered);
});
