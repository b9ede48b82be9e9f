//! The customer CSV: the one CSV dialect (shared with the results file), the mapping from
//! header names to organization fields, and the checks that turn a row into a request.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use csv::{ByteRecord, StringRecord};
use serde_json::{Map, Value};

use crate::Error;
use crate::api::CreateOrganization;
use crate::api::types::Metadata;

/// The longest `name` accepted, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// The longest id accepted (`id`, `parent_id`, `template_id`), in characters.
pub const MAX_ID_CHARS: usize = 255;

/// Opens `path` as CSV in the project's dialect: comma-separated, a header row, `"` quoting,
/// fields trimmed, a UTF-8 byte-order mark skipped.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened.
pub fn reader(path: &Path) -> Result<csv::Reader<BufReader<File>>, Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(BufReader::with_capacity(256 * 1024, file)))
}

/// A CSV writer in the same dialect as [`reader`].
pub fn writer<W: std::io::Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new().flexible(true).from_writer(w)
}

/// Reads the header row of `reader` as text.
///
/// # Errors
/// [`Error::Input`] when the file is empty or its header is not UTF-8.
pub fn read_headers(
    path: &Path,
    reader: &mut csv::Reader<BufReader<File>>,
) -> Result<StringRecord, Error> {
    let input_err = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let headers = reader
        .byte_headers()
        .map_err(|e| input_err(format!("line 1 (header): {e}")))?
        .clone();
    if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
        return Err(input_err("the file is empty: it needs a header row".into()));
    }
    StringRecord::from_byte_record(headers)
        .map_err(|_| input_err("line 1 (header): not valid UTF-8 text".into()))
}

/// One data row as read: where it starts, its fields, and whether they can be used at all.
pub struct RawRow {
    /// The line of the file where the record starts.
    pub line: u64,
    /// The fields as read (invalid UTF-8 replaced by U+FFFD).
    pub record: StringRecord,
    /// Why the fields cannot be used (not UTF-8, wrong field count), if so.
    pub problem: Option<String>,
}

impl RawRow {
    /// The fields laid out in exactly `width` columns, for the results file: short rows are
    /// padded, and the surplus fields of a long row are kept, joined into the last column.
    pub fn fields_in(&self, width: usize) -> Vec<String> {
        let mut fields: Vec<String> = self.record.iter().map(str::to_string).collect();
        if fields.len() > width && width > 0 {
            let surplus = fields.split_off(width - 1);
            fields.push(surplus.join(","));
        }
        fields.resize(width, String::new());
        fields
    }
}

/// Iterates the data rows of `reader`, in file order, checking each has `width` fields.
/// Blank lines are skipped by the CSV reader.
///
/// # Errors
/// An item is an [`Error::Input`] when the file cannot be read any further.
pub fn rows(
    path: &Path,
    reader: csv::Reader<BufReader<File>>,
    width: usize,
) -> impl Iterator<Item = Result<RawRow, Error>> {
    // The csv crate's line numbers drift on CRLF files and blank lines; its byte offsets do
    // not, so lines are counted from those.
    let mut lines = File::open(path).ok().map(LineCounter::new);
    let path = path.to_path_buf();
    let mut reader = reader;
    let mut bytes = ByteRecord::new();
    std::iter::from_fn(move || match reader.read_byte_record(&mut bytes) {
        Ok(false) => None,
        Ok(true) => {
            let position = bytes.position();
            let line = match (&mut lines, position) {
                (Some(counter), Some(p)) => counter.line_at(p.byte()),
                (_, p) => p.map(|p| p.line()).unwrap_or(0),
            };
            let (record, mut problem) = match StringRecord::from_byte_record(bytes.clone()) {
                Ok(record) => (record, None),
                Err(e) => {
                    let field = e.utf8_error().field();
                    let lossy: StringRecord =
                        bytes.iter().map(|f| String::from_utf8_lossy(f)).collect();
                    (
                        lossy,
                        Some(format!(
                            "field {} is not UTF-8 text (save the file as UTF-8)",
                            field + 1
                        )),
                    )
                }
            };
            if record.len() != width {
                problem = Some(format!(
                    "the row has {} fields but the header has {width}{}",
                    record.len(),
                    if record.len() < width {
                        " (a missing field, or an unterminated quote?)"
                    } else {
                        " (an unquoted comma?)"
                    }
                ));
            }
            Some(Ok(RawRow {
                line,
                record,
                problem,
            }))
        }
        Err(e) => Some(Err(Error::Input {
            path: path.clone(),
            message: e.to_string(),
        })),
    })
}

/// Turns the byte offsets of records into the lines where they start, reading the file once
/// alongside the CSV reader.
struct LineCounter {
    /// The file, read forward only.
    reader: BufReader<File>,
    /// The byte offset reached.
    pos: u64,
    /// The line at `pos` (1-based).
    line: u64,
}

impl LineCounter {
    fn new(file: File) -> Self {
        LineCounter {
            reader: BufReader::with_capacity(64 * 1024, file),
            pos: 0,
            line: 1,
        }
    }

    /// The line of the first byte at or after `offset` that is not a line ending.
    fn line_at(&mut self, offset: u64) -> u64 {
        use std::io::BufRead;
        while self.pos < offset {
            let Ok(buf) = self.reader.fill_buf() else {
                break;
            };
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min((offset - self.pos) as usize);
            self.line += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
            self.reader.consume(n);
            self.pos += n as u64;
        }
        // A record's offset may point at the end of the line before it.
        while let Ok(&[first, ..]) = self.reader.fill_buf() {
            match first {
                b'\n' => self.line += 1,
                b'\r' => {}
                _ => break,
            }
            self.reader.consume(1);
            self.pos += 1;
        }
        self.line
    }
}

/// Where each organization field is in the input, found by header name.
#[derive(Debug, Clone)]
pub struct Columns {
    /// The header row as written in the file.
    pub headers: StringRecord,
    name: usize,
    id: Option<usize>,
    display_name: Option<usize>,
    description: Option<usize>,
    email: Option<usize>,
    parent_id: Option<usize>,
    template_id: Option<usize>,
    color: Option<usize>,
    domains: Option<usize>,
    /// `metadata.<key>` columns: the payload key and the column.
    metadata: Vec<(String, usize)>,
}

impl Columns {
    /// Maps header names (case and surrounding spaces ignored) to fields. Columns with other
    /// names are kept in the results but not sent.
    ///
    /// # Errors
    /// A message when there is no `name` column or a field's column appears twice.
    pub fn from_headers(headers: &StringRecord) -> Result<Columns, String> {
        let mut found: [Option<usize>; 9] = [None; 9];
        const FIELDS: [&str; 9] = [
            "name",
            "id",
            "displayname",
            "description",
            "email",
            "parent_id",
            "template_id",
            "color",
            "domains",
        ];
        let mut metadata: Vec<(String, usize)> = Vec::new();
        for (i, raw) in headers.iter().enumerate() {
            let header = raw.trim();
            let lower = header.to_lowercase();
            if let Some(key) = header
                .get(..9)
                .filter(|p| p.eq_ignore_ascii_case("metadata."))
                .map(|_| header[9..].trim())
            {
                if key.is_empty() {
                    return Err(format!(
                        "column {}: {header:?} names no metadata key",
                        i + 1
                    ));
                }
                if let Some((_, first)) = metadata.iter().find(|(k, _)| k == key) {
                    return Err(format!(
                        "columns {} and {} are both {header:?}",
                        first + 1,
                        i + 1
                    ));
                }
                metadata.push((key.to_string(), i));
            } else if let Some(f) = FIELDS.iter().position(|f| *f == lower) {
                if let Some(first) = found[f] {
                    return Err(format!(
                        "columns {} and {} are both {header:?}",
                        first + 1,
                        i + 1
                    ));
                }
                found[f] = Some(i);
            }
        }
        let name = found[0].ok_or_else(|| {
            format!(
                "there is no `name` column (the header has: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })?;
        Ok(Columns {
            headers: headers.clone(),
            name,
            id: found[1],
            display_name: found[2],
            description: found[3],
            email: found[4],
            parent_id: found[5],
            template_id: found[6],
            color: found[7],
            domains: found[8],
            metadata,
        })
    }

    /// How many columns the header has.
    pub fn width(&self) -> usize {
        self.headers.len()
    }

    /// The key that identifies the row across runs and within the file: its `id` when it has
    /// one, otherwise its `name`. `None` when it has neither.
    pub fn key(&self, record: &StringRecord) -> Option<String> {
        match self.get(record, self.id) {
            Some(id) => Some(format!("id:{id}")),
            None => self
                .get(record, Some(self.name))
                .map(|n| format!("name:{n}")),
        }
    }

    /// The header of column `i`, for messages.
    fn header(&self, i: usize) -> &str {
        self.headers.get(i).unwrap_or("?")
    }

    /// The trimmed non-empty value of an optional column.
    fn get<'r>(&self, record: &'r StringRecord, column: Option<usize>) -> Option<&'r str> {
        column
            .and_then(|i| record.get(i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// Checks `record` and builds its create request. `default_template` applies to rows
    /// with no `template_id` of their own.
    ///
    /// # Errors
    /// Every problem found, each naming the column and the value.
    pub fn to_request(
        &self,
        record: &StringRecord,
        default_template: Option<&str>,
    ) -> Result<CreateOrganization, Vec<String>> {
        let mut problems = Vec::new();
        let mut problem = |column: usize, message: String| {
            problems.push(format!("{}: {message}", self.header(column)));
        };

        let name = self.get(record, Some(self.name)).unwrap_or("");
        if name.is_empty() {
            problem(
                self.name,
                "is empty; every organization needs a name".into(),
            );
        } else if name.chars().count() > MAX_NAME_CHARS {
            problem(
                self.name,
                format!(
                    "is {} characters long; the most is {MAX_NAME_CHARS}",
                    name.chars().count()
                ),
            );
        } else if name.chars().any(char::is_control) {
            problem(self.name, format!("{name:?} contains a control character"));
        }

        let mut id_field = |column: Option<usize>, what: &str| -> Option<String> {
            let value = self.get(record, column)?;
            match check_id(value) {
                Ok(()) => Some(value.to_string()),
                Err(why) => {
                    problem(
                        column.unwrap_or(0),
                        format!("{value:?} is not a valid {what}: {why}"),
                    );
                    None
                }
            }
        };
        let id = id_field(self.id, "organization id");
        let parent_id = id_field(self.parent_id, "parent organization id");
        let template_id = id_field(self.template_id, "template id")
            .or_else(|| default_template.map(str::to_string));

        let email = self.get(record, self.email);
        if let Some(email) = email
            && !is_email(email)
        {
            problem(
                self.email.unwrap_or(0),
                format!("{email:?} is not an email address"),
            );
        }
        let color = self.get(record, self.color);
        if let Some(color) = color
            && !is_hex_color(color)
        {
            problem(
                self.color.unwrap_or(0),
                format!("{color:?} is not a hex color like #1A73E8"),
            );
        }
        let mut domains = Vec::new();
        if let Some(list) = self.get(record, self.domains) {
            for domain in list
                .split([';', ','])
                .map(str::trim)
                .filter(|d| !d.is_empty())
            {
                if is_domain(domain) {
                    domains.push(domain.to_ascii_lowercase());
                } else {
                    problem(
                        self.domains.unwrap_or(0),
                        format!("{domain:?} is not a domain name like example.com"),
                    );
                }
            }
        }
        let mut payload = Map::new();
        for (key, column) in &self.metadata {
            if let Some(value) = self.get(record, Some(*column)) {
                payload.insert(key.clone(), Value::String(value.to_string()));
            }
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        let text = |c: Option<usize>| self.get(record, c).map(str::to_string);
        Ok(CreateOrganization {
            id,
            name: name.to_string(),
            display_name: text(self.display_name),
            description: text(self.description),
            email: email.map(str::to_string),
            color: color.map(str::to_string),
            domains,
            parent_id,
            template_id,
            metadata: (!payload.is_empty()).then_some(Metadata {
                payload,
                schema: None,
            }),
        })
    }
}

/// Ids travel in URL paths: letters, digits, `_`, `.` and `-` only.
fn check_id(value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_ID_CHARS {
        return Err(format!("longer than {MAX_ID_CHARS} characters"));
    }
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        Some(c) => Err(format!(
            "{c:?} is not allowed (use letters, digits, '_', '.' and '-')"
        )),
        None => Ok(()),
    }
}

fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@')
        && is_domain(domain)
}

fn is_hex_color(value: &str) -> bool {
    value
        .strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_domain(value: &str) -> bool {
    let labels: Vec<&str> = value.split('.').collect();
    value.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(header: &[&str]) -> Columns {
        Columns::from_headers(&StringRecord::from(header.to_vec())).unwrap()
    }

    #[test]
    fn maps_known_columns_case_insensitively_and_metadata_by_prefix() {
        let c = columns(&[
            "Name",
            " ID ",
            "displayName",
            "metadata.salesforceId",
            "owner",
        ]);
        let record = StringRecord::from(vec!["acme", "cust-1", "ACME Inc", "001xx", "Kim"]);
        let request = c.to_request(&record, Some("tpl")).unwrap();
        assert_eq!(request.name, "acme");
        assert_eq!(request.id.as_deref(), Some("cust-1"));
        assert_eq!(request.display_name.as_deref(), Some("ACME Inc"));
        assert_eq!(request.template_id.as_deref(), Some("tpl"));
        assert_eq!(
            request.metadata.unwrap().payload["salesforceId"],
            Value::String("001xx".into())
        );
        assert_eq!(c.key(&record).as_deref(), Some("id:cust-1"));
    }

    #[test]
    fn a_header_without_name_is_refused() {
        let err = Columns::from_headers(&StringRecord::from(vec!["id", "email"])).unwrap_err();
        assert!(err.contains("no `name` column"), "{err}");
        let err = Columns::from_headers(&StringRecord::from(vec!["name", "Name"])).unwrap_err();
        assert!(err.contains("columns 1 and 2"), "{err}");
    }

    #[test]
    fn every_problem_of_a_row_is_reported() {
        let c = columns(&["name", "id", "email", "color", "domains"]);
        let record = StringRecord::from(vec!["", "a b", "x at y", "blue", "ok.com;acme corp.com"]);
        let problems = c.to_request(&record, None).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].starts_with("name: is empty"), "{problems:?}");
        assert!(problems[1].contains("\"a b\" is not a valid organization id"));
        assert!(problems[2].contains("\"x at y\" is not an email address"));
        assert!(problems[3].contains("\"blue\" is not a hex color"));
        assert!(problems[4].contains("\"acme corp.com\" is not a domain name"));
    }

    #[test]
    fn value_checks() {
        assert!(is_email("a.b+c@example.co.uk"));
        assert!(!is_email("a@b"));
        assert!(!is_email("a b@example.com"));
        assert!(is_hex_color("#1a73E8") && is_hex_color("#fff"));
        assert!(!is_hex_color("#12345G") && !is_hex_color("1A73E8"));
        assert!(is_domain("xn--mller-kva.de"));
        assert!(!is_domain("-bad.com") && !is_domain("localhost") && !is_domain("1.2.3.4"));
        assert!(check_id("cust-001_a.b").is_ok());
        assert!(check_id("cust 1").is_err() && check_id("a/b").is_err());
    }

    #[test]
    fn a_byte_order_mark_and_crlf_are_read_as_plain_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bom.csv");
        std::fs::write(
            &path,
            "\u{feff}name,id\r\nacme,\r\n\r\n\"b,\r\ncorp\",x\r\nlast,y\r\n",
        )
        .unwrap();
        let mut reader = reader(&path).unwrap();
        let headers = read_headers(&path, &mut reader).unwrap();
        assert_eq!(headers.iter().collect::<Vec<_>>(), ["name", "id"]);
        let rows: Vec<RawRow> = rows(&path, reader, 2).map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].line, &rows[0].record[0]), (2, "acme"));
        assert_eq!((rows[1].line, &rows[1].record[0]), (4, "b,\r\ncorp"));
        assert_eq!((rows[2].line, &rows[2].record[0]), (6, "last"));
        std::fs::write(&path, "name\n\na\n\"b\nc\"\n\n\nd\n").unwrap();
        let mut reader = super::reader(&path).unwrap();
        read_headers(&path, &mut reader).unwrap();
        let lines: Vec<u64> = super::rows(&path, reader, 1)
            .map(|r| r.unwrap().line)
            .collect();
        assert_eq!(lines, [3, 4, 8]);
    }

    #[test]
    fn ragged_and_non_utf8_rows_are_reported_with_their_fields_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv");
        std::fs::write(&path, b"name,id\nshort\nlong,a,b,c\nM\xfcller,x\n").unwrap();
        let mut reader = reader(&path).unwrap();
        read_headers(&path, &mut reader).unwrap();
        let rows: Vec<RawRow> = rows(&path, reader, 2).map(Result::unwrap).collect();
        assert!(
            rows[0]
                .problem
                .as_ref()
                .unwrap()
                .contains("has 1 fields but the header has 2")
        );
        assert_eq!(rows[1].fields_in(2), ["long", "a,b,c"]);
        assert!(
            rows[2]
                .problem
                .as_ref()
                .unwrap()
                .contains("field 1 is not UTF-8")
        );
        assert_eq!(&rows[2].record[0], "M\u{fffd}ller");
    }
}
