//! docs/configuration.md documents every setting; this keeps its broker table true to the code.
//!
//! The table between `<!-- settings-table: broker -->` and `<!-- /settings-table -->` must list
//! exactly the fields of `FleetConfig`, each with its default as `FleetConfig::default()`
//! serialises it, its `FITFLEET_*` variable and its flag. The documented defaults, given to the
//! settings loader as flags, must load as `FleetConfig::default()`.
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use fitfleet_fleet::FleetConfig;
use fitfleet_testkit::settings_doc::{DOC, defaults_of, doc_text, table, unquote};

/// `FleetConfig::default()` as key → the text the table shows for it.
fn code_defaults() -> BTreeMap<String, String> {
    defaults_of::<FleetConfig>()
}

#[test]
fn every_broker_setting_is_documented_and_nothing_else() {
    let rows = table(&doc_text(), "broker");
    let documented: BTreeSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(documented.len(), rows.len(), "{DOC}: a key of the broker table appears twice");
    let defaults = code_defaults();
    let in_code: BTreeSet<&str> = defaults.keys().map(String::as_str).collect();
    let missing: Vec<_> = in_code.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&in_code).collect();
    assert!(missing.is_empty(), "{DOC}: FleetConfig fields not documented: {missing:?}");
    assert!(extra.is_empty(), "{DOC}: documented keys that FleetConfig does not have: {extra:?}");
}

#[test]
fn documented_broker_defaults_are_the_code_defaults() {
    let defaults = code_defaults();
    for row in table(&doc_text(), "broker") {
        let Some(expected) = defaults.get(&row.key) else {
            continue;
        };
        assert!(
            row.default.starts_with('`') && row.default.ends_with('`'),
            "{DOC}: the default of `{}` must be a literal in backticks, not {}",
            row.key,
            row.default
        );
        assert_eq!(&unquote(&row.default), expected, "{DOC}: default of `{}`", row.key);
    }
}

#[test]
fn documented_variables_and_flags_follow_the_keys() {
    let doc = doc_text();
    for name in ["broker", "worker"] {
        for row in table(&doc, name) {
            let env = format!("{}_{}", fitfleet_fleet::settings::ENV_PREFIX, row.key.to_uppercase());
            assert_eq!(row.env, env, "{DOC}: variable of `{}`", row.key);
            let flag = format!("--{}", row.key.replace('_', "-"));
            assert_eq!(row.flag, flag, "{DOC}: flag of `{}`", row.key);
            assert!(!row.description.is_empty(), "{DOC}: `{}` has no description", row.key);
        }
    }
}

#[test]
fn worker_keys_do_not_shadow_broker_keys() {
    let doc = doc_text();
    let broker: BTreeSet<String> = table(&doc, "broker").into_iter().map(|r| r.key).collect();
    let worker: Vec<String> = table(&doc, "worker").into_iter().map(|r| r.key).collect();
    for key in worker {
        assert!(!broker.contains(&key), "{DOC}: `{key}` is in both the broker and worker tables");
    }
}

/// The documented defaults, typed as a user would type them, go through the real loader and
/// come out as the code's defaults (so a default documented as `30` for a field that wants a
/// string, or an unparsable one, fails here).
#[test]
fn documented_broker_defaults_load_as_the_defaults() {
    let rows = table(&doc_text(), "broker");
    // An empty settings file named explicitly, so no fitfleet.toml or $FITFLEET_CONFIG is read;
    // flags override any FITFLEET_* variable of the environment.
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("config_reference_empty.toml");
    std::fs::write(&file, "").unwrap();
    let flags: Vec<(&str, String)> = rows.iter().map(|r| (r.key.as_str(), unquote(&r.default))).collect();
    let loaded: FleetConfig =
        fitfleet_fleet::settings::load(Some(file.as_path()), &flags).expect("the documented defaults load");
    assert_eq!(loaded, FleetConfig::default());
}
