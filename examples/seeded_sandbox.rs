//! A sandbox that starts with many organizations, to rehearse `plan` and `import
//! --on-existing` against a large tenant and to measure how long listing it takes.
//!
//! ```text
//! cargo run --release --example seeded_sandbox -- 100000 8080
//! ```
//!
//! Seeds COUNT organizations (default 100000) named `seeded-NNNNNN` with ids `seed-NNNNNN`,
//! each with a description, a domain and a metadata attribute, then serves on 127.0.0.1:PORT
//! (default 8080) and prints the settings that reach it, as `orgimport sandbox` does.

use orgimport::sandbox::{Metadata, Organization, Sandbox, SandboxConfig};
use serde_json::json;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let port: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(8080);

    let sandbox = Sandbox::new(SandboxConfig::default());
    let started = std::time::Instant::now();
    sandbox.insert_organizations((0..count).map(|i| {
        let mut metadata = Metadata::default();
        metadata.payload.insert("region".into(), json!("EMEA"));
        Organization {
            description: format!("Seeded customer {i}"),
            domains: Some(vec![format!("seeded{i}.example.com")]),
            metadata,
            ..Organization::new(format!("seed-{i:06}"), format!("seeded-{i:06}"))
        }
    }));
    eprintln!(
        "seeded {count} organizations in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    println!("sandbox listening on http://{address} (Ctrl-C stops it)");
    print!("{}", sandbox.shell_exports(address, true)); // its own generated secret
    sandbox
        .clone()
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
