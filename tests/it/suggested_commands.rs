//! The commands a message suggests read the input as the run did: every flag that changed how
//! its rows were read is repeated, so that running the suggestion finds what the run found.

use crate::ops::{bin, run, text};

/// The text between the first pair of backticks after `after` in `all`.
fn quoted_command<'a>(all: &'a str, after: &str) -> &'a str {
    let rest = &all[all.find(after).unwrap_or_else(|| panic!("{after}: {all}"))..];
    let start = rest.find('`').unwrap() + 1;
    let end = start + rest[start..].find('`').unwrap();
    &rest[start..end]
}

#[tokio::test]
async fn the_dry_runs_validate_hint_repeats_the_mapping_and_the_reading_flags() {
    let dir = tempfile::tempdir().unwrap();
    // Two title lines above the header, `;` between fields, columns named by a mapping.
    let mut csv = String::from("Accounts export\n\nAccount;Web;Region\n");
    for i in 0..6 {
        csv.push_str(&format!("acct-{i};not a domain {i};EMEA\n"));
    }
    csv.push_str("acct-ok;ok.example;EMEA\n");
    std::fs::write(dir.path().join("accounts.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("crm-mapping.toml"),
        "[fields]\nname = \"Account\"\ndomains = \"Web\"\n",
    )
    .unwrap();
    let reading = [
        "--mapping",
        "crm-mapping.toml",
        "--map",
        "metadata.region=Region",
        "--delimiter",
        ";",
        "--header-row",
        "3",
    ];
    let out = run(
        bin(dir.path()),
        &[
            &["import", "accounts.csv", "--dry-run", "--sandbox"][..],
            &reading,
        ]
        .concat(),
    )
    .await;
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(all.contains("6 invalid"), "{all}");
    let command = quoted_command(&all, "more invalid rows");
    assert_eq!(
        command,
        "orgimport validate accounts.csv --delimiter ';' --header-row 3 --mapping \
         crm-mapping.toml --map metadata.region=Region",
        "{all}"
    );
    // The suggestion, run as a shell would read it, finds the same six.
    let words: Vec<String> = command
        .split(' ')
        .skip(1)
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let out = run(bin(dir.path()), &words).await;
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(all.contains("7 rows, 1 valid, 6 invalid"), "{all}");
}
