//! docs/configuration.md's worker table lists exactly the worker's own settings (those of
//! `WorkerSettings` besides the fleet's, which the broker table holds), each with the code's
//! default; `slots` is documented as the cores available, since its default depends on the
//! machine.
use std::collections::BTreeSet;

use fitfleet_fleet::FleetConfig;
use fitfleet_testkit::settings_doc::{DOC, defaults_of, doc_text, table, unquote};
use fitfleet_worker::WorkerSettings;

#[test]
fn every_worker_setting_is_documented_with_its_default() {
    let fleet: BTreeSet<String> = defaults_of::<FleetConfig>().into_keys().collect();
    let defaults = defaults_of::<WorkerSettings>();
    let own: BTreeSet<&str> = defaults.keys().filter(|k| !fleet.contains(*k)).map(String::as_str).collect();
    let rows = table(&doc_text(), "worker");
    let documented: BTreeSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(documented, own, "{DOC}: the worker table and WorkerSettings disagree");
    for row in &rows {
        if row.key == "slots" {
            assert_eq!(row.default, "*available cores*", "{DOC}: default of `slots`");
            continue;
        }
        assert_eq!(unquote(&row.default), defaults[&row.key], "{DOC}: default of `{}`", row.key);
    }
}
