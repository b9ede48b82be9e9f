//! What earlier runs left: the results file and the journal of an interrupted run, read back
//! so that a rerun skips rows already done and looks up rows that may have been created.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use csv::StringRecord;

use super::journal;
use super::layout::Layout;
use super::*;
use crate::Error;
use crate::input::{self, Dialect, Mapping};

/// What earlier runs left, by row key: read from the results file and the journal.
#[derive(Debug, Default)]
pub struct EarlierRuns {
    /// Rows whose organization exists (`created`, `exists` or `updated`): not to be sent
    /// again.
    pub done: HashMap<String, Outcome>,
    /// Rows that may have been created without an answer saying so: sent when a run stopped
    /// mid-request, or failed without a definite refusal. They are looked up before sending.
    pub in_doubt: HashSet<String>,
}

impl EarlierRuns {
    /// Reads what earlier runs left: the results file at `results` (any version), then the
    /// journal of an interrupted run beside it (later lines win). Nothing when neither
    /// exists.
    ///
    /// # Errors
    /// [`Error::Input`] when the file at `results` is not an orgimport results file, so that
    /// nothing of the user's is overwritten by mistake; [`Error::Io`] when a file cannot be
    /// read.
    pub fn load(results: &Path, mapping: &Mapping) -> Result<EarlierRuns, Error> {
        let mut earlier = EarlierRuns::default();
        if results.exists() {
            earlier.read_results(results, mapping)?;
        }
        let journal = journal_path(results);
        if journal.exists() {
            journal::read(&journal, |key, outcome| earlier.learn(key, outcome))?;
        }
        Ok(earlier)
    }

    /// Takes the row `key`'s latest outcome (`None`: left pending), replacing what an earlier
    /// line said of it.
    fn learn(&mut self, key: String, outcome: Option<Outcome>) {
        // A definite refusal (4xx but 429) created nothing; anything else may have.
        let in_doubt = match &outcome {
            Some(o) if o.status.is_done() => false,
            Some(o) if o.status == Status::Failed => o.http_status.is_none_or(|s| s >= 429),
            Some(_) => false,
            None => true,
        };
        if !self.in_doubt.is_empty() && !in_doubt {
            self.in_doubt.remove(&key);
        }
        match outcome {
            Some(o) if o.status.is_done() => {
                self.done.insert(key, o);
            }
            _ => {
                if !self.done.is_empty() {
                    self.done.remove(&key);
                }
                if in_doubt {
                    self.in_doubt.insert(key);
                }
            }
        }
    }

    /// Learns the outcome of every row of the results file at `path` that was sent.
    fn read_results(&mut self, path: &Path, mapping: &Mapping) -> Result<(), Error> {
        let not_ours = |why: String| Error::Input {
            path: path.to_path_buf(),
            message: format!(
                "{why}; this is not an orgimport results file, so it is left alone \
                 (move it away or choose another --out)"
            ),
        };
        let mut reader = input::reader(path, &Dialect::RESULTS)?;
        let headers: StringRecord = input::read_headers(path, &mut reader)?
            .iter()
            .map(restore)
            .collect();
        let layout = Layout::of(&headers).map_err(not_ours)?;
        let input_headers: StringRecord = headers.iter().take(layout.input_width()).collect();
        let columns = if input_headers == mapping.headers {
            mapping.clone()
        } else {
            mapping.for_headers(&input_headers).map_err(not_ours)?
        };
        self.done.reserve(crate::input::expected_rows(path));
        for row in input::rows(path, &Dialect::RESULTS, reader, layout.width()) {
            let row = row?;
            if row.problem.is_some() {
                continue;
            }
            // Only a row with a cell that was neutralized is copied to restore it. The
            // mapping reads the input's columns, which come first.
            let restored: StringRecord;
            let record = if row.record.iter().any(|c| c.starts_with('\'')) {
                restored = row.record.iter().map(restore).collect();
                &restored
            } else {
                &row.record
            };
            // Only rows that were sent say anything; an invalid row may repeat a sent row's
            // key.
            let Some(outcome) = layout.outcome(record).filter(|o| {
                matches!(
                    o.status,
                    Status::Created | Status::Exists | Status::Updated | Status::Failed
                )
            }) else {
                continue;
            };
            let Some(key) = columns.key(record) else {
                continue;
            };
            self.learn(key, Some(outcome));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::MappingSpec;

    /// The mapping of an input with these columns.
    fn mapping(headers: &[&str]) -> Mapping {
        let headers: StringRecord = headers.iter().copied().collect();
        Mapping::new(&headers, &MappingSpec::default()).unwrap()
    }

    #[test]
    fn a_results_file_of_each_version_is_read_with_its_cells_restored() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("in.results.csv");
        let mapping = mapping(&["id", "name"]);
        let v1 = "\u{feff}id,name,status,org_id,http_status,error,attempts\n\
                  ,'=acme,created,org-1,201,,1\n\
                  ,beta,failed,,503,HTTP 503 unavailable,3\n\
                  ,gamma,failed,,409,HTTP 409 conflict,1\n\
                  ,'=acme,invalid,,,line 5: name is already used,0\n\
                  ,'-delta,exists,org-4,200,,1\n";
        let v2 = "\u{feff}id;name;status;org_id;http_status;error;attempts;changes\n\
                  ;'=acme;created;org-1;201;;1;\n\
                  ;beta;failed;;503;HTTP 503 unavailable;3;\n\
                  ;gamma;failed;;409;HTTP 409 conflict;1;\n\
                  ;'=acme;invalid;;;line 5: name is already used;0;\n\
                  ;'-delta;updated;org-4;200;;1;\"'=x: \"\"a\"\" -> \"\"b\"\"\"\n";
        for (file, last_status, changes) in [
            (v1, Status::Exists, None),
            (v2, Status::Updated, Some("=x: \"a\" -> \"b\"")),
        ] {
            std::fs::write(&results, file).unwrap();
            let earlier = EarlierRuns::load(&results, &mapping).unwrap();
            let mut done: Vec<(&str, &str)> = earlier
                .done
                .iter()
                .map(|(k, o)| (k.as_str(), o.org_id.as_deref().unwrap()))
                .collect();
            done.sort();
            // Keys are the restored names; the invalid repeat does not undo the created row.
            assert_eq!(done, [("name:-delta", "org-4"), ("name:=acme", "org-1")]);
            let delta = &earlier.done["name:-delta"];
            assert_eq!(
                (delta.status, delta.changes.as_deref()),
                (last_status, changes)
            );
            assert_eq!(
                earlier.done["name:=acme"],
                Outcome {
                    status: Status::Created,
                    org_id: Some("org-1".into()),
                    http_status: Some(201),
                    error: None,
                    attempts: 1,
                    changes: None,
                    kind: None,
                }
            );
            // A 503 may have created it; a 409 refused it.
            let in_doubt: Vec<&str> = earlier.in_doubt.iter().map(String::as_str).collect();
            assert_eq!(in_doubt, ["name:beta"]);
        }
    }

    #[test]
    fn a_file_that_is_not_a_results_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("in.results.csv");
        std::fs::write(&results, "id,name,status\n,acme,created\n").unwrap();
        let err = EarlierRuns::load(&results, &mapping(&["id", "name"])).unwrap_err();
        assert!(err.to_string().contains("is left alone"), "{err}");
    }

    #[test]
    fn the_journal_of_an_interrupted_run_wins_over_the_results_file() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("in.results.csv");
        std::fs::write(
            &results,
            "id,name,status,org_id,http_status,error,attempts,changes\n\
             ,acme,created,org-1,201,,1,\n\
             ,beta,failed,,503,HTTP 503,3,\n",
        )
        .unwrap();
        // A journal begun by an older build (6 fields), continued by this one (7), and torn
        // by a crash in its last line.
        std::fs::write(
            journal_path(&results),
            "key,status,org_id,http_status,attempts,error\n\
             name:beta,created,org-2,201,1,\n\
             name:gamma,pending,,,,\n\
             name:acme,failed,,409,1,HTTP 409 conflict,\n\
             name:delta,updated,org-4,200,1,,name: \"a\" -> \"b\"\n\
             name:epsilon,pending,,,,,\n\
             name:delta,fail",
        )
        .unwrap();
        let earlier = EarlierRuns::load(&results, &mapping(&["id", "name"])).unwrap();
        let mut done: Vec<(&str, Status)> = earlier
            .done
            .iter()
            .map(|(k, o)| (k.as_str(), o.status))
            .collect();
        done.sort();
        assert_eq!(
            done,
            [
                ("name:beta", Status::Created),
                ("name:delta", Status::Updated)
            ]
        );
        assert_eq!(
            earlier.done["name:delta"].changes.as_deref(),
            Some("name: \"a\" -> \"b\"")
        );
        let mut in_doubt: Vec<&str> = earlier.in_doubt.iter().map(String::as_str).collect();
        in_doubt.sort();
        assert_eq!(in_doubt, ["name:epsilon", "name:gamma"]);
    }
}
