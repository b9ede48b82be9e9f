//! Rows in doubt, and rows a hand edit left readable or not: what is taken as done, what is
//! looked up again, and what refuses the file.

use super::*;

#[test]
fn an_unconfirmed_row_is_in_doubt_and_so_is_a_failed_one_after_retries() {
    let (_dir, earlier) = load_results(
        "acme,unconfirmed,,,timed out,3,\n\
         beta,unconfirmed,org-2,201,another row's organization,1,\n\
         gamma,failed,,403,HTTP 403 request_forbidden,6,\n\
         delta,failed,,403,HTTP 403 forbidden,1,\n\
         eps,failed,,200,two organizations are named eps,0,\n\
         zeta,failed,,409,HTTP 409 conflict,1,\n\
         eta,not_sent,,,not sent: stopped,0,\n",
    );
    let earlier = earlier.unwrap();
    assert_eq!(earlier.done_count(), 0);
    // A 403 after retries may follow an attempt that committed; a 403 at the first
    // attempt refused it; two organizations found by name may hold the row's.
    assert_eq!(
        sorted(&earlier.in_doubt),
        ["name:acme", "name:beta", "name:eps", "name:gamma"]
    );
    assert!(earlier.warnings.is_empty(), "{:?}", earlier.warnings);
    for key in ["name:delta", "name:zeta", "name:eta", "name:acme"] {
        assert!(earlier.lists(key), "{key}");
    }
    assert!(!earlier.lists("name:new"));
}

#[test]
fn a_row_in_doubt_stays_in_doubt_until_an_answer_settles_it() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("in.results.csv");
    std::fs::write(
        &results,
        "name,status,org_id,http_status,error,attempts,changes\n\
         a,unconfirmed,,,timed out,1,\n\
         b,unconfirmed,,,timed out,1,\n\
         c,unconfirmed,,,timed out,1,\n\
         d,unconfirmed,,,timed out,1,\n\
         e,unconfirmed,,,timed out,1,\n",
    )
    .unwrap();
    // A later run, killed: a's parent was not created, b's look-up was refused, c was
    // being sent, d's create was refused after a look-up found nothing, e was found; f
    // was sent and then not sent again in a run that did not settle it.
    std::fs::write(
        journal_path(&results),
        "key,status,org_id,http_status,attempts,error,changes\n\
         name:a,not_sent,,,0,\"not sent: its parent, line 2, was not created\",\n\
         name:b,failed,,403,0,could not check whether an earlier attempt created it,\n\
         name:c,pending,,,,,\n\
         name:d,failed,,400,1,HTTP 400 bad,\n\
         name:e,created,org-5,200,0,,\n\
         name:f,pending,,,,,\n\
         name:f,not_sent,,,0,not sent: stopped,\n",
    )
    .unwrap();
    let earlier = EarlierRuns::load(&results, &mapping(&["name"]), &TenantCheck::any()).unwrap();
    assert_eq!(
        sorted(&earlier.in_doubt),
        ["name:a", "name:b", "name:c", "name:f"]
    );
    let done = done_keys(
        &earlier,
        &["name:a", "name:b", "name:c", "name:d", "name:e", "name:f"],
    );
    assert_eq!(done, ["name:e"]);
    assert_eq!(earlier.done("name:e").unwrap().place, Place::Journal(6));
}

#[test]
fn rows_that_still_say_enough_are_read_as_that_and_reported_with_their_lines() {
    let (_dir, earlier) = load_results(
        "lost-id,created,,201,,1,\n\
         bad-id,created,../x,201,,1,\n\
         there,exists,,200,,0,\n\
         changed,updated,a b,200,,1,\n\
         odd,failed,,4o9,HTTP 409,1,\n\
         fine,created,org-6,201,,1,\n",
    );
    let earlier = earlier.unwrap();
    // Created under an id the file lost: looked up, and `created` if found.
    assert_eq!(
        sorted(&earlier.in_doubt),
        ["name:bad-id", "name:lost-id", "name:odd"]
    );
    // There before, under an id the file lost: compared with the tenant again.
    let done = done_keys(
        &earlier,
        &[
            "name:lost-id",
            "name:bad-id",
            "name:there",
            "name:changed",
            "name:odd",
            "name:fine",
        ],
    );
    assert_eq!(done, ["name:fine"]);
    assert!(earlier.lists("name:there") && earlier.lists("name:changed"));
    let lines: Vec<String> = earlier
        .warnings
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    assert_eq!(lines, ["line 2", "line 3", "line 4", "line 5", "line 6"]);
    assert!(earlier.warnings[0].1.contains("read as unconfirmed"));
    assert!(earlier.warnings[2].1.contains("read as not done"));
    assert!(earlier.warnings[4].1.contains("http_status \"4o9\""));
}

#[test]
fn rows_that_cannot_be_read_without_guessing_refuse_the_file_naming_each_line() {
    for (rows, expected) in [
        (
            "acme,crated,org-1,201,,1,\n",
            "line 2: the status \"crated\" is not one",
        ),
        ("acme,,org-1,201,,1,\n", "line 2: the status is empty"),
        (
            "ok,created,org-0,201,,1,\nacme,failed,org-1,201,,1,\n",
            "line 3: status failed with org_id \"org-1\"",
        ),
        (
            "acme,not_sent,org-1,,,0,\n",
            "line 2: status not_sent with org_id",
        ),
        (
            "acme,created,org-1\n",
            "line 2: the row has 3 fields but the header has 7",
        ),
        ("hello world\n", "line 2: the row has 1 fields"),
        (
            "acme,created,org-1,201,,1,,,extra\n",
            "line 2: the row has 9 fields",
        ),
        (
            "acme,created,org-1,201,,1,\nbeta,exists,org-2,200,,0,\ngamma,created,org-1,201,,1,\n",
            "line 4: line 2 and line 4 both record organization \"org-1\"",
        ),
    ] {
        let (_dir, earlier) = load_results(rows);
        let err = earlier.unwrap_err().to_string();
        assert!(err.contains(expected), "{rows:?}:\n{err}");
        assert!(err.contains("so nothing was done"), "{err}");
    }
    // Every such row is named, not only the first.
    let (_dir, earlier) = load_results("a,crated,,,,0,\nb,created,o-1,201,,1,\nc,\n");
    let err = earlier.unwrap_err().to_string();
    assert!(err.contains("2 rows cannot be read"), "{err}");
    assert!(err.contains("line 2:") && err.contains("line 4:"), "{err}");
}

#[test]
fn a_journal_line_that_cannot_be_read_leaves_its_row_in_doubt() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("in.results.csv");
    std::fs::write(
        journal_path(&results),
        "key,status,org_id,http_status,attempts,error,changes\n\
         name:a,crea7ed,org-1,201,1,,\n\
         name:b,created,org-2,201,1,,,surplus\n\
         ,created,org-3,201,1,,\n\
         name:c,created,org-4,201,1,,\n\
         name:d,created,org-4,201,1,,\n",
    )
    .unwrap();
    let err = EarlierRuns::load(&results, &mapping(&["name"]), &TenantCheck::any()).unwrap_err();
    assert!(
        err.to_string().contains(
            "line 5 of the journal and line 6 of the journal both record organization \
             \"org-4\""
        ),
        "{err}"
    );
    std::fs::write(
        journal_path(&results),
        "key,status,org_id,http_status,attempts,error,changes\n\
         name:a,crea7ed,org-1,201,1,,\n\
         name:b,created,org-2,201,1,,,surplus\n\
         ,created,org-3,201,1,,\n",
    )
    .unwrap();
    let earlier = EarlierRuns::load(&results, &mapping(&["name"]), &TenantCheck::any()).unwrap();
    assert_eq!(earlier.done_count(), 0);
    assert_eq!(sorted(&earlier.in_doubt), ["name:a", "name:b"]);
    let lines: Vec<String> = earlier
        .warnings
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "line 2 of the journal",
            "line 3 of the journal",
            "line 4 of the journal"
        ]
    );
    assert!(!earlier.had_results);
}
