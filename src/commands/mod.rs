//! One module per subcommand, each a thin `run` from its resolved [`Settings`] to an
//! [`ExitStatus`]; this module only dispatches. `main` prints a returned error and exits 2.

pub(crate) mod config;
pub(crate) mod console;
pub mod export;
pub mod import;
pub mod plan;
pub(crate) mod sandbox;
pub(crate) mod token;
pub mod undo;
pub mod validate;
pub(crate) mod verify;

use crate::ExitStatus;
use crate::settings::Settings;

/// Runs the command `settings` are for.
///
/// # Errors
/// A fatal error, with its context, for `main` to print; the exit status is then
/// [`ExitStatus::Fatal`].
pub async fn run(settings: Settings) -> anyhow::Result<ExitStatus> {
    match settings {
        Settings::Import(settings) => import::run(settings).await,
        Settings::Plan(settings) => plan::run(settings).await,
        Settings::Validate(settings) => validate::run(&settings),
        Settings::Verify(settings) => verify::run(settings).await,
        Settings::Undo(settings) => undo::run(settings).await,
        Settings::Token(settings) => token::run(&settings).await,
        Settings::Config(settings) => Ok(config::run(&settings)),
        Settings::Sandbox(settings) => sandbox::run(settings).await,
        Settings::Export(settings) => export::run(settings).await,
        Settings::Console(settings) => console::run(settings).await,
        Settings::Completions(script) => {
            print!("{script}");
            Ok(ExitStatus::Success)
        }
        Settings::ManPages(dir, pages) => {
            write_man_pages(&dir, &pages)?;
            Ok(ExitStatus::Success)
        }
    }
}

/// Writes each of `pages` (file name, text) into the folder `dir`, naming each on stderr.
///
/// # Errors
/// A missing folder, or a page that cannot be written there.
fn write_man_pages(dir: &std::path::Path, pages: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if !dir.is_dir() {
        anyhow::bail!(
            "{}: no such folder; create it first (mkdir -p {})",
            dir.display(),
            dir.display()
        );
    }
    for (name, text) in pages {
        let path = dir.join(name);
        crate::private_file::write(&path, text)
            .with_context(|| format!("writing the manual page {}", path.display()))?;
        eprintln!("{}", path.display());
    }
    Ok(())
}
