//! `orgimport sandbox`: serves the emulator of the System API on 127.0.0.1 until Ctrl-C, and
//! prints the settings that point an import at it.

use anyhow::Context;

use crate::ExitStatus;
use crate::sandbox::Sandbox;
use crate::settings::SandboxSettings;

/// Serves the sandbox `settings` describe until Ctrl-C.
///
/// # Errors
/// The port cannot be bound, or the server fails.
pub(crate) async fn run(settings: SandboxSettings) -> anyhow::Result<ExitStatus> {
    let SandboxSettings {
        port,
        config,
        secret_given,
    } = settings;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let address = listener.local_addr()?;
    let sandbox = Sandbox::new(config);
    // The sandbox's own generated credentials are printed so that the user can point an import
    // at it; they are not a tenant's. A secret the user gave is never printed back.
    println!("sandbox listening on http://{address} (Ctrl-C stops it; its data lives in memory)");
    print!("{}", sandbox.shell_exports(address, !secret_given));
    println!(
        "# stats (with the settings above): curl -H \"Authorization: Bearer $(orgimport token \
         --show | sed -n 's/^access token: *//p')\" http://{address}/_sandbox/stats"
    );
    sandbox
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the sandbox stopped")?;
    Ok(ExitStatus::Success)
}
