//! `orgimport console`: binds 127.0.0.1, prints the page's URL (with its token, good while the console runs) on
//! stdout, opens it with `--open`, and serves the page until Ctrl-C.

use anyhow::Context;

use crate::ExitStatus;
use crate::settings::ConsoleSettings;

/// Serves the console `settings` describe until Ctrl-C.
///
/// # Errors
/// The port cannot be bound, the sandbox cannot start, or the server fails.
pub(crate) async fn run(settings: ConsoleSettings) -> anyhow::Result<ExitStatus> {
    let port = settings.port;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let address = listener.local_addr()?;
    let url = crate::console::url(address.port(), &settings.token);
    println!("{url}");
    eprintln!(
        "console: open the URL above in a browser on this machine (it opens the page for as \
         long as the console runs: keep it as a secret; Ctrl-C stops the console); working \
         folder {}",
        settings.dir.display()
    );
    if settings.open {
        open_browser(&url);
    }
    crate::console::serve(settings, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("the console stopped")?;
    Ok(ExitStatus::Success)
}

/// Opens `url` with the platform's opener; a missing opener is a warning, never a failure
/// (the URL is printed already).
fn open_browser(url: &str) {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match command.spawn() {
        // Reaped on a thread of its own: the opener returns at once or soon.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => eprintln!("warning: cannot open a browser ({e}); open the URL yourself"),
    }
}
