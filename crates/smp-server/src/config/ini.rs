//! A small INI reader with the rules of the Haskell `ini` package (0.4) that the reference server
//! uses (`Data.Ini.iniParser`, `lookupValue`).
//!
//! * `[NAME]` opens a section (name trimmed, case-sensitive); when a name repeats, the last
//!   section of that name wins as a whole.
//! * `key = value` and `key: value`: the first `=` or `:` splits; key and value are trimmed, the
//!   value may be empty and may contain further `=`/`:`; for a repeated key the first one wins.
//! * Lines whose first non-blank character is `#` or `;` are comments; there are no inline comments.
//! * Keys before the first section are kept apart (the server ignores them).
//! * The reference parser silently stops at the first line it cannot read and ignores the rest of
//!   the file. This reader stops there too, and records the line in [`Ini::unparsed_line`] so the
//!   caller can warn about it.

/// One `[SECTION]` with its entries in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    entries: Vec<(String, String)>,
}

impl Section {
    /// The value of `key`; the first occurrence wins (`Data.Ini.lookupValue`).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// All entries in file order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

/// A parsed INI file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ini {
    sections: Vec<(String, Section)>,
    globals: Section,
    unparsed_line: Option<(usize, String)>,
}

impl Ini {
    /// Parses INI text. Never fails: like the reference, reading stops at the first line that is
    /// neither a section header, a `key = value` line, a comment nor blank.
    pub fn parse(text: &str) -> Ini {
        let mut ini = Ini::default();
        let mut current: Option<usize> = None;
        for (index, raw_line) in text.split('\n').enumerate() {
            let line = raw_line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let rest = if let Some(header) = line.strip_prefix('[') {
                match header.split_once(']') {
                    Some((name, rest)) if !name.contains('[') => {
                        ini.sections
                            .push((name.trim().to_string(), Section::default()));
                        current = Some(ini.sections.len() - 1);
                        rest.trim()
                    }
                    _ => {
                        ini.unparsed_line = Some((index + 1, raw_line.to_string()));
                        break;
                    }
                }
            } else {
                line
            };
            // A comment may follow a header on its line (`keyValueParser` skips comments
            // before every key).
            if rest.is_empty() || rest.starts_with('#') || rest.starts_with(';') {
                continue;
            }
            match parse_key_value(rest) {
                Some((key, value)) => {
                    let section = match current {
                        Some(position) => &mut ini.sections[position].1,
                        None => &mut ini.globals,
                    };
                    section.entries.push((key, value));
                }
                None => {
                    ini.unparsed_line = Some((index + 1, raw_line.to_string()));
                    break;
                }
            }
        }
        ini
    }

    /// The section called `name`; the last one of that name wins (`HashMap.fromList`).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .rev()
            .find(|(section_name, _)| section_name == name)
            .map(|(_, section)| section)
    }

    /// The value of `key` in `section`.
    pub fn value(&self, section: &str, key: &str) -> Option<&str> {
        self.section(section).and_then(|section| section.value(key))
    }

    /// Every section in file order, repeated names included (for tools and the fuzz target).
    pub fn sections(&self) -> impl Iterator<Item = (&str, &Section)> {
        self.sections
            .iter()
            .map(|(name, section)| (name.as_str(), section))
    }

    /// Entries before the first section header (ignored by the server).
    pub fn globals(&self) -> &Section {
        &self.globals
    }

    /// 1-based number and text of the line where reading stopped, if it stopped early.
    pub fn unparsed_line(&self) -> Option<(usize, &str)> {
        self.unparsed_line
            .as_ref()
            .map(|(number, text)| (*number, text.as_str()))
    }
}

/// `key = value` or `key: value`; the key may not contain `[` or `]` and may not be empty.
fn parse_key_value(line: &str) -> Option<(String, String)> {
    let split = line.find(['=', ':'])?;
    let key = line[..split].trim();
    if key.is_empty() || key.contains(['[', ']']) {
        return None;
    }
    let value = line[split + 1..].trim();
    Some((key.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_separators_and_trimming() {
        let ini = Ini::parse("[A]\nx = 1\ny: two words \n  z=  \nw = a=b:c\n");
        assert_eq!(ini.value("A", "x"), Some("1"));
        assert_eq!(ini.value("A", "y"), Some("two words"));
        assert_eq!(ini.value("A", "z"), Some(""));
        assert_eq!(ini.value("A", "w"), Some("a=b:c"));
        assert_eq!(ini.value("A", "v"), None);
        assert_eq!(ini.value("B", "x"), None);
        assert_eq!(ini.unparsed_line(), None);
    }

    #[test]
    fn comment_after_a_header() {
        let ini = Ini::parse("[A] # about A\nx = 1\n[B]; about B\n[C] y = 2\n");
        assert_eq!(ini.section("A").map(|s| s.entries().count()), Some(1));
        assert_eq!(ini.section("B").map(|s| s.entries().count()), Some(0));
        assert_eq!(ini.value("C", "y"), Some("2"));
        assert_eq!(ini.unparsed_line(), None);
    }

    #[test]
    fn colon_splits_first() {
        let ini = Ini::parse("[PROXY]\nsocks_proxy: 127.0.0.1:9050\n");
        assert_eq!(ini.value("PROXY", "socks_proxy"), Some("127.0.0.1:9050"));
    }

    #[test]
    fn comments_are_whole_lines_only() {
        let ini = Ini::parse("# c\n; c\n[A]\n   # indented comment\nx = on # not a comment\n");
        assert_eq!(ini.value("A", "x"), Some("on # not a comment"));
        assert_eq!(ini.section("A").map(|s| s.entries().count()), Some(1));
    }

    #[test]
    fn first_key_wins_last_section_wins() {
        let ini = Ini::parse("[A]\nx = 1\nx = 2\n[B]\ny = 1\n[A]\nz = 3\n");
        assert_eq!(ini.value("A", "x"), None);
        assert_eq!(ini.value("A", "z"), Some("3"));
        let ini = Ini::parse("[A]\nx = 1\nx = 2\n");
        assert_eq!(ini.value("A", "x"), Some("1"));
    }

    #[test]
    fn globals_and_section_names() {
        let ini = Ini::parse("g = 1\n[ NAME ]\nk = v\r\n");
        assert_eq!(ini.globals().value("g"), Some("1"));
        assert_eq!(ini.value("NAME", "k"), Some("v"));
        assert_eq!(ini.value("name", "k"), None);
    }

    #[test]
    fn stops_at_unreadable_line() {
        let ini = Ini::parse("[A]\nx = 1\ngarbage\n[B]\ny = 2\n");
        assert_eq!(ini.value("A", "x"), Some("1"));
        assert_eq!(ini.value("B", "y"), None);
        assert_eq!(ini.unparsed_line(), Some((3, "garbage")));
        let ini = Ini::parse("[A\nx = 1\n");
        assert_eq!(ini.unparsed_line(), Some((1, "[A")));
        let ini = Ini::parse("[A]\n= 1\n");
        assert_eq!(ini.unparsed_line(), Some((2, "= 1")));
    }
}
