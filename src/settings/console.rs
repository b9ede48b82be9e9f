//! The settings of `orgimport console`: where it listens and works, and the import every file
//! the page is given runs with (connection, template, rate), resolved as `import` resolves
//! them, so that the page and the CLI are two faces of one tool.

use std::path::PathBuf;

use base64::Engine as _;
use rand::Rng as _;

use crate::Error;
use crate::cli::{ConsoleArgs, ImportArgs, InputFormatArgs, OnExistingArg};
use crate::settings::import::ImportSettings;
use crate::settings::layers::Layers;

/// The largest upload the console takes by default: 256 MiB (a 200,000-row CSV is some
/// 30 MB; a workbook is read whole into memory by the engine).
pub(crate) const MAX_UPLOAD: u64 = 256 << 20;

/// Everything `console` needs.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// The port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    /// The working folder: uploads, mappings, corrected copies, results files.
    pub dir: PathBuf,
    /// `--open`: open the page in the default browser.
    pub open: bool,
    /// `--sandbox`: a fresh built-in sandbox is started with the console and every import
    /// of the page goes to it.
    pub sandbox: bool,
    /// The import each file runs with: its input, dialect, mapping and results file are set
    /// per file by the console.
    pub import: ImportSettings,
    /// The token of the printed URL, exchanged for the page's cookie for as long as the console
    /// runs.
    pub token: String,
    /// The largest upload taken, in bytes.
    pub max_upload: u64,
}

impl ConsoleSettings {
    /// The `console` settings: `args` over the environment over the profile over defaults,
    /// the connection as `import` resolves it (its secret read now, never sent to the page).
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting to fix (as `import` names it); [`Error::Io`] when
    /// `--dir` is not a folder.
    pub fn resolve(
        args: ConsoleArgs,
        quiet: bool,
        layers: &mut Layers,
    ) -> Result<ConsoleSettings, Error> {
        let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        let meta = std::fs::metadata(&dir).map_err(|e| Error::io(&dir, e))?;
        if !meta.is_dir() {
            return Err(Error::Config(format!(
                "--dir {} is not a folder",
                dir.display()
            )));
        }
        let dir = dir.canonicalize().map_err(|e| Error::io(&dir, e))?;
        let import = ImportArgs {
            // Replaced per file; the import's settings are resolved once, here.
            input: dir.join("customers.csv"),
            format: InputFormatArgs::default(),
            sandbox: args.sandbox,
            connection: args.connection,
            template_id: args.template_id,
            out: None,
            adopt_results: args.adopt_results,
            send: args.send,
            dry_run: false,
            summary_json: None,
            on_existing: OnExistingArg::Skip,
            no_template: args.no_template,
        };
        Ok(ConsoleSettings {
            port: args.port,
            dir,
            open: args.open,
            sandbox: args.sandbox,
            import: ImportSettings::resolve(import, quiet, layers)?,
            token: new_token(),
            max_upload: MAX_UPLOAD,
        })
    }
}

/// A fresh random token: 32 bytes, URL-safe base64.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
