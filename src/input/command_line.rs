//! The command line that reads an input again as a run read it, for hints that suggest one
//! (`orgimport validate c.csv --mapping m.toml` lists every invalid row the run counted).

use std::path::Path;

use super::{Dialect, MappingSpec};

/// `orgimport validate INPUT` with every flag that changed how the run read its rows, as
/// [`command_reading`] writes it.
pub fn validate_command(input: &Path, dialect: &Dialect, mapping: &MappingSpec) -> String {
    command_reading("validate", input, dialect, mapping)
}

/// `orgimport COMMAND INPUT` with every flag that changed how the run read its rows:
/// `--delimiter`, `--encoding`, `--sheet`, `--header-row`, `--mapping` and each `--map`, so that
/// the command it suggests finds what the run found. Words are quoted for a POSIX shell when
/// they need it.
pub fn command_reading(
    command: &str,
    input: &Path,
    dialect: &Dialect,
    mapping: &MappingSpec,
) -> String {
    let mut words = vec![
        "orgimport".to_string(),
        command.to_string(),
        input.display().to_string(),
    ];
    let mut flag = |name: &str, value: String| {
        words.push(name.to_string());
        words.push(value);
    };
    if let Some(delimiter) = dialect.delimiter {
        flag(
            "--delimiter",
            match delimiter {
                b'\t' => "tab".to_string(),
                other => char::from(other).to_string(),
            },
        );
    }
    if let Some(encoding) = dialect.encoding {
        flag("--encoding", encoding.name().to_ascii_lowercase());
    }
    if let Some(sheet) = &dialect.sheet {
        flag("--sheet", sheet.clone());
    }
    if let Some(row) = dialect.header_row {
        flag("--header-row", row.to_string());
    }
    if let Some(path) = mapping.file.as_ref().and_then(|f| f.path()) {
        flag("--mapping", path.display().to_string());
    }
    for (field, column) in &mapping.overrides {
        flag("--map", format!("{field}={column}"));
    }
    words
        .iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` as a POSIX shell reads it back: as it is when it holds only safe characters, else
/// in single quotes (a `'` in it written `'\''`).
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reading_flag_is_repeated_and_quoted_for_the_shell() {
        let dialect = Dialect::parse(Some(";"), Some("windows-1252"))
            .unwrap()
            .with_sheet(Some("Q3 list"))
            .with_header_row(Some(3));
        let mapping = MappingSpec {
            file: None,
            overrides: vec![("name".into(), "Account Name".into())],
        };
        assert_eq!(
            validate_command(Path::new("it's.csv"), &dialect, &mapping),
            "orgimport validate 'it'\\''s.csv' --delimiter ';' --encoding windows-1252 \
             --sheet 'Q3 list' --header-row 3 --map 'name=Account Name'"
        );
        assert_eq!(
            validate_command(
                Path::new("c.csv"),
                &Dialect::RESULTS,
                &MappingSpec::default()
            ),
            "orgimport validate c.csv"
        );
    }
}
