//! Customer files in temp dirs, and running `import` on them in-process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use clap::Parser;
use orgimport::cli::Cli;
use orgimport::commands::import;
use orgimport::report::summary::Summary;
use orgimport::settings::{Environment, Settings};

use crate::util::TestSandbox;

/// A customer file of `n` valid rows, every fourth with an id of its own.
pub fn customers(n: usize) -> String {
    let mut csv = String::from(
        "id,name,displayName,email,domains,metadata.region,metadata.salesforceId,owner\n",
    );
    for i in 0..n {
        let id = if i % 4 == 0 {
            format!("cust-{i:05}")
        } else {
            String::new()
        };
        csv.push_str(&format!(
            "{id},customer-{i:05},\"Kunde {i}, GmbH\",admin@customer{i}.example.com,customer{i}.example.com,EMEA,001XX{i:013},Ana\n"
        ));
    }
    csv
}

/// A temp dir with `customers.csv` and the sandbox's secret in a file.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// Edits the results file as a user would: `from` replaced with `to` (which must be in it).
    pub fn edit_results(&self, from: &str, to: &str) {
        let original = std::fs::read_to_string(self.results()).unwrap();
        let edited = original.replace(from, to);
        assert_ne!(edited, original, "{from:?} is not in the results file");
        std::fs::write(self.results(), &edited).unwrap();
    }

    pub fn new(csv: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("customers.csv"), csv).unwrap();
        Fixture { dir }
    }

    pub fn input(&self) -> PathBuf {
        self.dir.path().join("customers.csv")
    }

    pub fn results(&self) -> PathBuf {
        self.dir.path().join("customers.results.csv")
    }

    /// The import command line for `sandbox`, with `extra` flags.
    pub fn args(&self, sandbox: &TestSandbox, secret: &str, extra: &[&str]) -> Vec<String> {
        let secret_file = self.dir.path().join("secret");
        std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
        let mut args = vec![
            "orgimport".into(),
            "import".into(),
            self.input().display().to_string(),
        ];
        args.extend(sandbox.tenant_args(&secret_file));
        args.extend(["--quiet"].iter().chain(extra).map(|s| s.to_string()));
        args
    }

    pub async fn import(
        &self,
        sandbox: &TestSandbox,
        extra: &[&str],
    ) -> Result<Summary, orgimport::Error> {
        let secret = sandbox.secret();
        import_with(self.args(sandbox, &secret, extra)).await
    }

    /// `orgimport import` of this fixture as a child process against `sandbox`, its stderr
    /// piped.
    pub fn spawn_import(&self, sandbox: &TestSandbox, extra: &[&str]) -> Child {
        let args = self.args(sandbox, &sandbox.secret(), extra);
        std::process::Command::new(env!("CARGO_BIN_EXE_orgimport"))
            .args(&args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The journal an unfinished run leaves beside the results file.
    pub fn journal(&self) -> PathBuf {
        orgimport::record::journal_path(&self.results())
    }

    /// The results file, a map of column -> value per row.
    pub fn results_rows(&self) -> Vec<HashMap<String, String>> {
        csv_rows(&self.results())
    }
}

/// The settings of the command line `args`, with no environment variable set.
pub fn resolve(args: Vec<String>) -> Result<Settings, orgimport::Error> {
    Settings::resolve(Cli::try_parse_from(args).unwrap(), Environment::default())
}

pub async fn import_with(args: Vec<String>) -> Result<Summary, orgimport::Error> {
    let Settings::Import(settings) = resolve(args)? else {
        panic!("not an import")
    };
    import::import(settings).await
}

/// A CSV file as column -> value maps, one per row (a leading BOM is not part of the
/// first column's name).
pub fn csv_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// Sends SIGINT (what Ctrl-C sends) to `child`.
pub fn interrupt(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
