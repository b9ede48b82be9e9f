//! What earlier runs left, read back: each version, the journal over the results file, rows
//! in doubt, and hand-edited rows reported or refused.

use super::*;
use crate::input::MappingSpec;
use csv::StringRecord;

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
        let earlier = EarlierRuns::load(&results, &mapping, &TenantCheck::any()).unwrap();
        let done: Vec<(&str, String)> = done_keys(
            &earlier,
            &[
                "name:=acme",
                "name:beta",
                "name:gamma",
                "name:-delta",
                "name:'=acme",
            ],
        )
        .into_iter()
        .map(|k| (k, earlier.done(k).unwrap().outcome.org_id.unwrap()))
        .collect();
        // Keys are the restored names; the invalid repeat does not undo the created row.
        assert_eq!(
            done,
            [
                ("name:-delta", "org-4".to_string()),
                ("name:=acme", "org-1".to_string())
            ]
        );
        let delta = &earlier.done("name:-delta").unwrap().outcome;
        assert_eq!(
            (delta.status, delta.changes.as_deref()),
            (last_status, changes)
        );
        assert_eq!(
            earlier.done("name:=acme").unwrap().outcome,
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
    let err =
        EarlierRuns::load(&results, &mapping(&["id", "name"]), &TenantCheck::any()).unwrap_err();
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
    let earlier =
        EarlierRuns::load(&results, &mapping(&["id", "name"]), &TenantCheck::any()).unwrap();
    let done: Vec<(&str, Status)> = done_keys(
        &earlier,
        &[
            "name:acme",
            "name:beta",
            "name:gamma",
            "name:delta",
            "name:epsilon",
        ],
    )
    .into_iter()
    .map(|k| (k, earlier.done(k).unwrap().outcome.status))
    .collect();
    assert_eq!(
        done,
        [
            ("name:beta", Status::Created),
            ("name:delta", Status::Updated)
        ]
    );
    assert_eq!(
        earlier
            .done("name:delta")
            .unwrap()
            .outcome
            .changes
            .as_deref(),
        Some("name: \"a\" -> \"b\"")
    );
    let mut in_doubt: Vec<&str> = earlier.in_doubt.iter().map(String::as_str).collect();
    in_doubt.sort();
    assert_eq!(in_doubt, ["name:epsilon", "name:gamma"]);
}

/// The keys among `candidates` (every key the files name) that `earlier` has done, sorted;
/// no other key is done.
fn done_keys<'a>(earlier: &EarlierRuns, candidates: &[&'a str]) -> Vec<&'a str> {
    let mut done: Vec<&str> = candidates
        .iter()
        .copied()
        .filter(|k| earlier.is_done(k))
        .collect();
    done.sort();
    assert_eq!(done.len(), earlier.done_count(), "{done:?}");
    done
}

/// The sorted keys of `set`.
fn sorted(set: &HashSet<String>) -> Vec<&str> {
    let mut keys: Vec<&str> = set.iter().map(String::as_str).collect();
    keys.sort();
    keys
}

/// Loads a results file of `rows` under the header `name,status,...,changes`.
fn load_results(rows: &str) -> (tempfile::TempDir, Result<EarlierRuns, Error>) {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("in.results.csv");
    std::fs::write(
        &results,
        format!("name,status,org_id,http_status,error,attempts,changes\n{rows}"),
    )
    .unwrap();
    let earlier = EarlierRuns::load(&results, &mapping(&["name"]), &TenantCheck::any());
    (dir, earlier)
}

#[test]
fn a_place_packed_in_8_bytes_unpacks_as_it_was() {
    for place in [
        Place::Results(2),
        Place::Journal(2),
        Place::Results(0),
        Place::Journal(u64::MAX >> 1),
    ] {
        assert_eq!(unpack_place(pack_place(place)), place);
    }
}

#[test]
fn the_plan_takes_the_texts_of_rows_done_and_each_reads_as_recorded() {
    let (_dir, earlier) = load_results(
        "a,created,org-1,201,,1,\n\
         b,failed,,409,HTTP 409,1,\n\
         c,updated,org-3,200,,2,\"name: \"\"x\"\" -> \"\"c\"\"\"\n",
    );
    let mut earlier = earlier.unwrap();
    let recorded = [
        earlier.done("name:c").unwrap(),
        earlier.done("name:a").unwrap(),
    ];
    let mut plan = earlier.outcomes_for_plan(3);
    for key in ["name:c", "name:b", "name:a"] {
        match earlier.done_entry(fingerprint(key)) {
            Some(entry) => earlier.push_done(entry, &mut plan),
            None => plan.push(None),
        }
    }
    assert_eq!(plan.get(0), Some(recorded[0].outcome.clone()));
    assert_eq!(plan.get(1), None);
    assert_eq!(plan.get(2), Some(recorded[1].outcome.clone()));
    assert_eq!(plan.view(0).unwrap().changes, Some("name: \"x\" -> \"c\""));
    // What is done is still known.
    assert!(earlier.is_done("name:a") && !earlier.is_done("name:b"));
    assert!(earlier.lists("name:b") && !earlier.lists("name:d"));
}

#[test]
fn a_journal_whose_last_line_a_crash_cut_off_inside_a_quoted_cell_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("in.results.csv");
    // Cut off inside the error, whose text has a comma and quotes.
    std::fs::write(
        journal_path(&results),
        "key,status,org_id,http_status,attempts,error,changes\n\
         name:Acme,pending,,,,,\n\
         name:Acme,failed,,503,1,\"HTTP 503: upstream said \"\"busy\"\", retry",
    )
    .unwrap();
    let earlier = EarlierRuns::load(&results, &mapping(&["name"]), &TenantCheck::any())
        .expect("the journal is read");
    assert_eq!(sorted(&earlier.in_doubt), ["name:Acme"]);
}

#[test]
fn nothing_is_taken_as_done_from_another_tenants_results_or_journal() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("in.results.csv");
    let mapping = mapping(&["name"]);
    let url = |s: &str| url::Url::parse(s).unwrap();
    let acme = TenantMark::tenant(&url("https://acme.example.com"), "acme");
    let sandbox = TenantMark::sandbox();
    let for_acme = TenantCheck::import(Some(acme.clone()), false);
    let file = |tenant: &TenantMark| {
        format!(
            "\u{feff}name,status,org_id,http_status,error,attempts,changes,tenant\n\
             alpha,created,org-1,201,,1,,{tenant}\n\
             beta,invalid,,,bad,0,,{tenant}\n"
        )
    };

    // Its own tenant's: read.
    std::fs::write(&results, file(&acme)).unwrap();
    let earlier = EarlierRuns::load(&results, &mapping, &for_acme).unwrap();
    assert!(earlier.is_done("name:alpha"));
    assert!(earlier.as_written.is_some(), "this build's format");

    // A rehearsal's, or a row of another tenant among its own: refused, naming both.
    std::fs::write(&results, file(&sandbox)).unwrap();
    let error = EarlierRuns::load(&results, &mapping, &for_acme)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "it was written for the built-in sandbox (--sandbox) (line 2), and this run is \
             for tenant acme at https://acme.example.com"
        ),
        "{error}"
    );
    let other = TenantMark::tenant(&url("https://acme.example.com:8443"), "acme");
    let mixed = file(&acme).replace(&format!("bad,0,,{acme}"), &format!("bad,0,,{other}"));
    std::fs::write(&results, mixed).unwrap();
    let error = EarlierRuns::load(&results, &mapping, &for_acme)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("written for tenant {other} (line 3)")),
        "{error}"
    );
    // --adopt-results never takes another tenant's.
    let adopting = TenantCheck::import(Some(acme.clone()), true);
    assert!(EarlierRuns::load(&results, &mapping, &adopting).is_err());

    // An earlier version's file, which records no tenant: refused unless adopted, when it
    // records an organization; read when it records none.
    let v2 = "name,status,org_id,http_status,error,attempts,changes\n\
              alpha,created,org-1,201,,1,\n";
    std::fs::write(&results, v2).unwrap();
    let error = EarlierRuns::load(&results, &mapping, &for_acme)
        .unwrap_err()
        .to_string();
    assert!(error.contains("--adopt-results"), "{error}");
    assert!(
        EarlierRuns::load(&results, &mapping, &adopting)
            .unwrap()
            .is_done("name:alpha")
    );
    std::fs::write(
        &results,
        "name,status,org_id,http_status,error,attempts,changes\nalpha,failed,,400,no,1,\n",
    )
    .unwrap();
    assert!(EarlierRuns::load(&results, &mapping, &for_acme).is_ok());

    // A journal of another tenant's run, with no results file: refused.
    std::fs::remove_file(&results).unwrap();
    let mut journal = Journal::open(&results, &sandbox).unwrap();
    journal
        .append(
            "name:alpha",
            &Outcome::done(Status::Created, "org-1".into(), Some(201), 1),
        )
        .unwrap();
    journal.flush().unwrap();
    drop(journal);
    let error = EarlierRuns::load(&results, &mapping, &for_acme)
        .unwrap_err()
        .to_string();
    assert!(error.contains("the header of its journal"), "{error}");
    let earlier = EarlierRuns::load(
        &results,
        &mapping,
        &TenantCheck::import(Some(sandbox), false),
    );
    assert!(earlier.unwrap().is_done("name:alpha"));
    // An earlier version's journal: refused unless adopted.
    std::fs::write(
        journal_path(&results),
        "key,status,org_id,http_status,attempts,error,changes\nname:alpha,created,org-1,201,1,,\n",
    )
    .unwrap();
    assert!(EarlierRuns::load(&results, &mapping, &for_acme).is_err());
    assert!(
        EarlierRuns::load(&results, &mapping, &adopting)
            .unwrap()
            .is_done("name:alpha")
    );
}

mod doubt;
