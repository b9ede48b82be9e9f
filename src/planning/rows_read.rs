//! The plan's pass over the rows, in file order: each row's key against the rows before it,
//! its parent reference, what earlier runs say of it, and its outcome for now.

use super::*;

/// The rows read so far, and what the plan learns from each in turn (in file order: keys and
/// names first seen, parent references), for [`build`].
pub(super) struct RowsRead<'a> {
    /// Where the requests of the valid rows are kept, when they are.
    pub(super) keep: Option<RequestsWriter>,
    /// The plan being made.
    pub(super) plan: Plan,
    /// The templates the rows name.
    pub(super) templates: TemplatesNamed<'a>,
    /// Names -> first row with it, only when rows may name parents by name.
    pub(super) names: FingerprintMap,
    /// Slugged names -> first row with it, for rows keyed by an id (see `name_collision`).
    pub(super) slugged: FingerprintMap,
    /// Key -> first row with it.
    pub(super) seen: FirstRows<'a>,
    /// (child, reference, whether it came from `parent` rather than `parent_id`).
    pub(super) references: Vec<(usize, String, bool)>,
    /// The mapping the rows are read with.
    pub(super) mapping: &'a Mapping,
    /// What earlier runs left.
    pub(super) earlier: &'a EarlierRuns,
    /// Whether rows may name their parent by name.
    pub(super) by_name: bool,
    /// Whether the rows' digest is wanted.
    pub(super) digest: bool,
}

impl RowsRead<'_> {
    /// Takes the rows of a batch, each `checked` already, in order ([`RowsRead::add`]).
    ///
    /// # Errors
    /// As [`RowsRead::add`].
    pub(super) fn add_batch(
        &mut self,
        rows: &[RawRow],
        checked: Vec<Checked>,
        report: &mut dyn FnMut(&InvalidRow),
    ) -> Result<(), Error> {
        for (row, checked) in rows.iter().zip(checked) {
            self.add(row, checked, report)?;
        }
        Ok(())
    }

    /// Takes the next row of the file, `checked` already: its key against the rows before,
    /// its parent reference, what earlier runs say of it, and its outcome for now; a row to
    /// send has its request kept, when the requests are. The row's keys are read from its
    /// cells again only when their text is needed (a repeated key, a parent, earlier runs,
    /// a kept request): most rows need their fingerprints alone.
    ///
    /// # Errors
    /// [`Error::Io`] when its request cannot be kept.
    pub(super) fn add(
        &mut self,
        row: &RawRow,
        checked: Checked,
        report: &mut dyn FnMut(&InvalidRow),
    ) -> Result<(), Error> {
        let index = self.plan.outcomes.len();
        self.plan.lines.push(row.line);
        self.templates
            .note(index, self.mapping.template_id(&row.record));
        let Checked {
            key: key_print,
            name: name_print,
            refers,
            done,
            mut problems,
            written,
            body,
        } = checked;
        if self.digest {
            self.plan.input_digest.add(written);
        }
        let keys = || self.mapping.row_keys(&row.record);
        // Whether the row repeats an earlier row's key: an earlier run's line is about
        // the first row with a key.
        let mut repeat = false;
        if let Some(print) = key_print
            && let (first, false) = self.seen.get_or_insert(print, done, row_number(index))
            && let Some(key) = keys()
                .key_parts()
                .map(|(kind, value)| (kind, value.to_string()))
        {
            repeat = true;
            let first = self.plan.numbering.short(self.plan.lines[first as usize]);
            problems.insert(0, duplicate_key((key.0, &key.1), &first));
        }
        if !repeat
            && let Some(problem) =
                name_collision(self.mapping, row, done, &self.plan, &mut self.slugged)
        {
            problems.insert(0, problem);
        }
        if self.by_name
            && let Some(name) = name_print
        {
            self.names.get_or_insert(name, row_number(index));
        }
        if refers {
            let keys = keys();
            match (&keys.parent, &keys.parent_id) {
                (Some(_), Some(_)) => problems.push(Problem::new(
                    ProblemKind::MissingParent,
                    None,
                    "both parent and parent_id are set; give one",
                )),
                (Some(parent), None) => {
                    self.references.push((index, parent.to_string(), true));
                }
                (None, Some(parent_id)) => {
                    self.references.push((index, parent_id.to_string(), false));
                }
                (None, None) => {}
            }
        }
        let mut in_doubt = false;
        if !repeat && key_print.is_some() {
            let unsent = problems.is_empty() && done.is_none();
            in_doubt = self.note_earlier(index, row, key_print, unsent);
        }
        match done.filter(|_| problems.is_empty() && !repeat) {
            Some(entry) => self.earlier.push_done(entry, &mut self.plan.outcomes),
            None if problems.is_empty() => {
                self.plan.outcomes.push(None);
                if let (Some(keep), Some(body)) = (&mut self.keep, &body)
                    && let Some(key) = self.mapping.row_keys(&row.record).key()
                {
                    keep.push(index, row.line, &key, in_doubt, body)?;
                }
            }
            None => {
                let outcome = invalid(&mut self.plan, row.line, &problems, report);
                self.plan.outcomes.push(Some(&outcome));
            }
        }
        Ok(())
    }

    /// What earlier runs say of the row `index`, `row`, which has a key: in doubt, or (when
    /// `unsent`, a valid row no earlier run finished) missing from the results file. Hands
    /// back whether it is in doubt. Without earlier runs there is nothing to say, and the
    /// key's text is not made.
    fn note_earlier(
        &mut self,
        index: usize,
        row: &RawRow,
        print: Option<Fingerprint>,
        unsent: bool,
    ) -> bool {
        if self.earlier.in_doubt.is_empty() && !self.earlier.had_results {
            return false;
        }
        let line = row.line;
        let Some(key) = self.mapping.row_keys(&row.record).key() else {
            return false;
        };
        let key = key.as_str();
        if self.earlier.in_doubt.contains(key) {
            self.plan.in_doubt_rows.push(index);
            return true;
        }
        if self.earlier.had_results
            && unsent
            && !print.is_some_and(|print| self.earlier.lists_by(key, print))
        {
            if self.plan.unlisted_lines.len() < UNLISTED_EXAMPLES {
                self.plan.unlisted_lines.push(line);
            }
            self.plan.unlisted += 1;
        }
        false
    }
}

/// The problem of a row whose `key` (`id:` or `name:`, and its value) the row on line `first`
/// has.
fn duplicate_key((kind, value): (&str, &str), first: &str) -> Problem {
    let what = kind.strip_suffix(':').unwrap_or(kind);
    Problem::new(
        ProblemKind::DuplicateKey,
        None,
        format!(
            "{what} {} is already used by {first}; each organization must appear once",
            quoted(value)
        ),
    )
}
