//! The one rule for the characters of request fields that can reach the monitoring core.
//!
//! - Names (host, service, user, author, command, hostgroup, template, custom variable names):
//!   no control character at all (C0, U+0000 to U+001F, and DEL), and no `;`, which separates
//!   the fields of a command line.
//! - Free text (outputs, perf data, comments, parameters, custom variable values): no control
//!   character except TAB, LF and CR; a line break goes to the core as the two characters `\n`
//!   where the command allows one (check results, comments), and is refused where it would end
//!   the command line (`/command`). A TAB goes to the core as a space (`for_core`): SPEC §8
//!   lets no C0 character reach the core, and a plugin's tab-separated output stays readable.
//!
//! The core reads a command line as a C string: a NUL would cut it and make the core act on
//! another element than the one checked and stored.

/// The first control character of `text` that no name may hold.
pub fn control_in_name(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_ascii_control())
}

/// The first control character of `text` that free text may not hold (TAB, LF, CR may).
pub fn control_in_text(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Free text as it goes into a command line: each TAB becomes a space.
pub fn for_core(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\t') {
        std::borrow::Cow::Owned(text.replace('\t', " "))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// How a refused character is named in an answer: `U+0000`.
pub fn describe(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_every_control_character() {
        for c in (0u8..0x20).chain([0x7f]) {
            let name = format!("web{}01", c as char);
            assert_eq!(control_in_name(&name), Some(c as char), "{c:#x}");
        }
        assert_eq!(control_in_name("web-01.example é"), None);
    }

    #[test]
    fn free_text_keeps_tab_and_line_breaks() {
        assert_eq!(control_in_text("a\tb\nc\r\n"), None);
        for c in (0u8..0x20).chain([0x7f]) {
            if matches!(c, b'\t' | b'\n' | b'\r') {
                continue;
            }
            let text = format!("out{}put", c as char);
            assert_eq!(control_in_text(&text), Some(c as char), "{c:#x}");
        }
        assert_eq!(describe('\0'), "U+0000");
        assert_eq!(for_core("a\tb\t"), "a b ");
        assert!(matches!(for_core("ab"), std::borrow::Cow::Borrowed("ab")));
        assert_eq!(describe('\x7f'), "U+007F");
    }
}
