//! Reading customer files: [`Source`], the input settled once per command (CSV or a
//! workbook's sheet, its encoding, delimiter, header and numbering), from which every reader of
//! it comes; the records with the line where each starts ([`Rows`]); and (in [`mapping`] and
//! [`field_checks`]) how a row becomes an organization request. [`snapshot`]: the input pinned for
//! the length of a run; [`encoding`]: the encoding settled before the first row is read;
//! [`workbook`]: a sheet of a workbook read as a CSV file; [`batches`]: rows read on a thread
//! of their own, a batch at a time.

pub mod batches;
mod command_line;
pub mod encoding;
mod encoding_refusals;
pub mod field_checks;
pub mod formulas;
mod lines;
pub mod mapping;
pub mod quote;
mod readings;
mod rows;
pub mod snapshot;
mod source;
mod swallowed;
pub mod untemplated;
mod utf16;
pub mod workbook;

use encoding_rs::Encoding;

pub use command_line::{command_reading, validate_command};
pub use encoding::Settled;
pub use lines::Decoded;
pub use mapping::{Keys, Mapping, MappingFile, MappingSpec, Problem, ProblemKind, RowKeys};
pub use rows::{RawRow, Rows, lay_out, trim_fields};
pub use snapshot::InputSnapshot;
pub use source::{Numbering, Source};
pub use untemplated::{RowTemplates, Untemplated};

/// A CSV reader over an input's text, decoded to UTF-8 ([`Source::rows`], [`Source::records`]).
pub type CsvReader = csv::Reader<Decoded>;

/// How the user says a file is written (`--delimiter`, `--encoding`, `--sheet`,
/// `--header-row`): what [`Source::settle`] starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dialect {
    /// The field separator; `None` finds it from the header line (`,`, `;`, tab or `|`).
    pub delimiter: Option<u8>,
    /// The file's encoding when it is not UTF-8; UTF-16 with a byte-order mark is recognised
    /// without it.
    pub encoding: Option<&'static Encoding>,
    /// The sheet of a workbook to read (`--sheet`); `None` reads the first visible one.
    pub sheet: Option<String>,
    /// The line of a CSV file, or the row of a sheet, where the header is (`--header-row`):
    /// the lines above it (titles) are not read. `None`: the first that is not blank.
    pub header_row: Option<u64>,
}

impl Dialect {
    /// The dialect of the files this tool writes: UTF-8 with the delimiter of the input they
    /// came from, found again when read.
    pub const RESULTS: Dialect = Dialect {
        delimiter: None,
        encoding: None,
        sheet: None,
        header_row: None,
    };

    /// The dialect named by `--delimiter` and `--encoding` values.
    ///
    /// # Errors
    /// A message when the delimiter is not one byte or the encoding is unknown.
    pub fn parse(delimiter: Option<&str>, encoding: Option<&str>) -> Result<Dialect, String> {
        let delimiter = match delimiter {
            None => None,
            Some("tab" | "\\t" | "\t") => Some(b'\t'),
            Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
            Some(d) => {
                return Err(format!(
                    "--delimiter {d:?} must be one character, like ',' ';' '|' or tab"
                ));
            }
        };
        let encoding = match encoding {
            None => None,
            Some(label) => Some(Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                format!(
                    "--encoding {label:?} is not an encoding this tool knows \
                     (e.g. utf-8, windows-1252, iso-8859-1, utf-16le, shift_jis)"
                )
            })?),
        };
        Ok(Dialect {
            delimiter,
            encoding,
            ..Dialect::default()
        })
    }

    /// This dialect reading the sheet `name` of a workbook (`--sheet`).
    pub fn with_sheet(self, name: Option<&str>) -> Dialect {
        Dialect {
            sheet: name.map(str::to_owned),
            ..self
        }
    }

    /// This dialect with the header at line (or sheet row) `row` (`--header-row`).
    pub fn with_header_row(self, row: Option<u64>) -> Dialect {
        Dialect {
            header_row: row,
            ..self
        }
    }
}

/// A CSV writer separating fields with `delimiter`, rows of any length: every CSV orgimport
/// writes (the results file and its journal through [`crate::record::CsvOut`] and
/// [`crate::record::journal`], a workbook's sheet as text, the console's corrected copy and
/// problem rows) is written by one of these, in the dialect its readers read.
pub fn csv_writer<W: std::io::Write>(w: W, delimiter: u8) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_writer(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of `content` read in `dialect`.
    fn read(content: &[u8], dialect: Dialect) -> (Vec<String>, Vec<RawRow>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, content).unwrap();
        let source = Source::as_csv(&path, &dialect).unwrap();
        let headers = source.headers().clone();
        let rows = source
            .rows(headers.len())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (headers.iter().map(str::to_string).collect(), rows)
    }

    #[test]
    fn a_file_said_to_be_utf_8_reads_a_bad_byte_as_a_replacement_character() {
        let content = b"name,note\nCaf\xe9,x\nbeta,y\n";
        let utf8 = Dialect {
            encoding: Some(encoding_rs::UTF_8),
            ..Dialect::default()
        };
        let (_, rows) = read(content, utf8);
        assert_eq!(&rows[0].record[0], "Caf\u{fffd}");
        assert!(rows.iter().all(|row| row.problem.is_none()));
        // Named no encoding, the byte is kept, and the row says it is not UTF-8.
        let (_, rows) = read(content, Dialect::default());
        assert!(rows[0].problem.as_deref().unwrap().contains("not UTF-8"));
    }

    #[test]
    fn the_delimiter_is_found_from_the_header() {
        for (content, expected) in [
            (&b"name;domains\nacme;a.com,b.com\n"[..], "a.com,b.com"),
            (b"name\tdomains\nacme\ta.com;b.com\n", "a.com;b.com"),
            (b"\"name;x\",domains\nacme,a.com;b.com\n", "a.com;b.com"),
            (b"name|domains\nacme|a.com\n", "a.com"),
        ] {
            let (headers, rows) = read(content, Dialect::default());
            assert_eq!(headers.len(), 2, "{headers:?}");
            assert_eq!(&rows[0].record[1], expected);
        }
        let (headers, _) = read(b"a;b,c\n1;2,3\n", Dialect::parse(Some(","), None).unwrap());
        assert_eq!(headers, ["a;b", "c"]);
    }

    #[test]
    fn header_errors_name_the_headers_line_after_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        let error = |content: &[u8]| {
            std::fs::write(&path, content).unwrap();
            Source::as_csv(&path, &Dialect::default())
                .and_then(|source| source.mapping(&MappingSpec::default()))
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        let e = error(b"\r\n\n\rAccount\nacme\n");
        assert!(
            e.contains("line 4 (header): there is no `name` column"),
            "{e}"
        );
        let e = error(b"\n\n,,\nacme\n");
        assert!(
            e.contains("line 3 (header): the header names no column"),
            "{e}"
        );
        let e = error(b"\nna\xffme\nacme\n");
        assert!(e.contains("line 2 (header): not UTF-8 text"), "{e}");
        let e = error(b"\r\n\n");
        assert!(e.contains("the file is empty"), "{e}");
    }

    #[test]
    fn other_encodings_are_decoded_when_named_or_marked() {
        let dialect = Dialect::parse(None, Some("windows-1252")).unwrap();
        let (_, rows) = read(b"name\nM\xfcller\n", dialect);
        assert_eq!(&rows[0].record[0], "Müller");
        assert!(rows[0].problem.is_none());
        // Excel's "Unicode text": UTF-16LE with a byte-order mark, tab-separated.
        let text: Vec<u8> = "\u{feff}name\tid\r\nSão Paulo\tx\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let (headers, rows) = read(&text, Dialect::default());
        assert_eq!(headers, ["name", "id"]);
        assert_eq!((&rows[0].record[0], rows[0].line), ("São Paulo", 2));
        assert!(Dialect::parse(None, Some("klingon")).is_err());
        assert!(Dialect::parse(Some(";;"), None).is_err());
    }
}
