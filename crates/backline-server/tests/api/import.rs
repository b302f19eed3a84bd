//! `backline contacts import`: good rows load, bad rows are reported with their line.

use std::io::Write;

use crate::helpers::spawn_app;

fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

#[tokio::test]
async fn csv_contacts_and_history_load_the_good_rows_and_report_the_bad_ones() {
    let app = spawn_app().await;
    app.user("alice", "Alice Agent").await;
    let dir = tempfile::tempdir().unwrap();
    let contacts = file(
        &dir,
        "contacts.csv",
        "external_id,first_name,last_name,phones,emails,segment\n\
         C-1,Zoë,Martin,+33 1 23 45;+33 6 00 00,zoe@example.com,Gold\n\
         C-2,,,,nobody@example.com,\n\
         C-3,Liam,O'Brien,,not-an-email,Standard\n\
         C-4,Ana,Lima,,ana@example.com,\n",
    );
    let report = backline_server::import::import_file(&app.backline, &contacts)
        .await
        .unwrap();
    assert_eq!(report.contacts, 2);
    let lines: Vec<usize> = report.refused.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [3, 4], "{:?}", report.refused);
    assert!(report.refused[0].1.contains("first or last name"));
    assert!(report.refused[1].1.contains("e-mail"));

    let history = file(
        &dir,
        "history.csv",
        "contact_external_id,media,started_at,agent,subject,outcome,notes,transcript\n\
         C-1,voice,2025-03-01T10:00:00Z,alice,Broken kettle,Refunded,Lid cracked,\n\
         C-1,fax,2025-03-02T10:00:00Z,alice,Bad media,,,\n\
         C-9,chat,2025-03-03T10:00:00Z,alice,Unknown contact,,,\n\
         C-4,chat,yesterday,alice,Bad time,,,\n\
         C-4,chat,1740996000000,nobody,Unknown agent,,,\n\
         C-4,chat,1740996000000,,Warranty question,Explained,,\"Customer: is it covered?\nAgent: yes, two years\"\n",
    );
    let report = backline_server::import::import_file(&app.backline, &history)
        .await
        .unwrap();
    assert_eq!(report.interactions, 2, "{:?}", report.refused);
    let lines: Vec<usize> = report.refused.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [3, 4, 5, 6], "{:?}", report.refused);
}

#[tokio::test]
async fn json_lines_and_json_arrays_report_lines_too() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let lines = file(
        &dir,
        "contacts.jsonl",
        "{\"external_id\":\"J-1\",\"first_name\":\"Ana\",\"attributes\":{\"segment\":\"Gold\"}}\n\
         \n\
         not json\n\
         {\"external_id\":\"J-2\",\"last_name\":\"Lima\",\"phones\":[\"+1 555\"]}\n\
         [1,2]\n",
    );
    let report = backline_server::import::import_file(&app.backline, &lines)
        .await
        .unwrap();
    assert_eq!(report.contacts, 2);
    assert_eq!(
        report.refused.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        [3, 5]
    );
    let array = file(
        &dir,
        "contacts.json",
        "[\n  {\"external_id\": \"A-1\", \"first_name\": \"Bo\"},\n  {\"external_id\": \"A-2\"},\n  {\"external_id\": \"A-3\", \"last_name\": \"Ng\"}\n]\n",
    );
    let report = backline_server::import::import_file(&app.backline, &array)
        .await
        .unwrap();
    assert_eq!(report.contacts, 2);
    assert_eq!(
        report.refused.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        [3]
    );
    let unknown = file(&dir, "contacts.xml", "<x/>");
    assert!(
        backline_server::import::import_file(&app.backline, &unknown)
            .await
            .is_err()
    );
}
