//! Alignak's external command table: every command name Alignak 2.1.5 recognises and the
//! arguments it expects, in order.
//!
//! The table is data (`alignak-2.1.5.commands`, generated from Alignak 2.1.5's
//! `ExternalCommandManager.commands`), read once on first use: a newer Alignak's table is a
//! new file, not new code.

use std::sync::LazyLock;

use super::ArgKind;

static TEXT: &str = include_str!("alignak-2.1.5.commands");

pub(super) type Row = (&'static str, Vec<ArgKind>);

/// Sorted by name, for binary search (a test checks the file's order and that every line of
/// it is a row).
pub(super) static COMMANDS: LazyLock<Vec<Row>> = LazyLock::new(|| rows(TEXT).collect());

/// The file's rows; a line with an argument kind this build does not know is left out
/// rather than guessed (the tests refuse such a file).
fn rows(text: &'static str) -> impl Iterator<Item = Row> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let kinds = words.map(kind).collect::<Option<Vec<_>>>()?;
            Some((name, kinds))
        })
}

fn kind(word: &str) -> Option<ArgKind> {
    use ArgKind::*;
    Some(match word {
        "Text" => Text,
        "Author" => Author,
        "Host" => Host,
        "Service" => Service,
        "Contact" => Contact,
        "TimePeriod" => TimePeriod,
        "Obsolete" => Obsolete,
        "Bool" => Bool,
        "Int" => Int,
        "Command" => Command,
        "HostGroup" => HostGroup,
        "ServiceGroup" => ServiceGroup,
        "ContactGroup" => ContactGroup,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_file_is_a_row_in_name_order() {
        let lines = TEXT
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .count();
        assert_eq!(COMMANDS.len(), lines, "a line of the file is not a row");
        assert_eq!(COMMANDS.len(), 169);
        assert!(COMMANDS.windows(2).all(|w| w[0].0 < w[1].0));
        let ack = COMMANDS
            .iter()
            .find(|(name, _)| *name == "ACKNOWLEDGE_SVC_PROBLEM_EXPIRE")
            .unwrap();
        use ArgKind::*;
        assert_eq!(ack.1, [Service, Int, Bool, Obsolete, Int, Author, Text]);
    }

    #[test]
    fn a_line_with_an_unknown_kind_is_not_a_row() {
        assert_eq!(rows("A Host\nB Hostname\n# C Host\n").count(), 1);
    }
}
