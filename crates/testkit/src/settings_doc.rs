//! The settings tables of docs/configuration.md, as tests read them to keep the documentation
//! true to the code: each table lies between `<!-- settings-table: NAME -->` and
//! `<!-- /settings-table -->` and has the columns key, default, environment variable, flag and
//! description.
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

/// Where the tables are, from the repository's root.
pub const DOC: &str = "docs/configuration.md";

/// One row of a settings table: key, default, variable, flag, description (backticks removed
/// from the first four).
#[derive(Debug)]
pub struct Row {
    pub key: String,
    pub default: String,
    pub env: String,
    pub flag: String,
    pub description: String,
}

/// docs/configuration.md, read from the repository.
pub fn doc_text() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(DOC);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn unquote(cell: &str) -> String {
    let cell = cell.trim();
    match cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')) {
        Some(inner) => inner.to_owned(),
        None => cell.to_owned(),
    }
}

/// The rows of the table named `name`, in order.
pub fn table(doc: &str, name: &str) -> Vec<Row> {
    let begin = format!("<!-- settings-table: {name} -->");
    let start = doc.find(&begin).unwrap_or_else(|| panic!("{DOC}: no `{begin}` marker"));
    let rest = &doc[start + begin.len()..];
    let end = rest
        .find("<!-- /settings-table -->")
        .unwrap_or_else(|| panic!("{DOC}: the {name} table has no closing marker"));
    let lines: Vec<&str> = rest[..end].lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    assert!(lines.len() >= 2, "{DOC}: the {name} table has no header");
    let header: Vec<String> = cells(lines[0]).into_iter().map(|c| c.to_lowercase()).collect();
    assert_eq!(
        header,
        ["key", "default", "environment variable", "flag", "description"],
        "{DOC}: columns of the {name} table"
    );
    assert!(lines[1].chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')), "{DOC}: separator row");
    lines[2..]
        .iter()
        .map(|line| {
            let c = cells(line);
            assert_eq!(c.len(), 5, "{DOC}: {name} table row `{line}` does not have 5 cells");
            Row {
                key: unquote(&c[0]),
                default: c[1].clone(),
                env: unquote(&c[2]),
                flag: unquote(&c[3]),
                description: c[4].clone(),
            }
        })
        .collect()
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.strip_prefix('|').and_then(|l| l.strip_suffix('|'));
    let inner = inner.unwrap_or_else(|| panic!("{DOC}: `{line}` is not a table row"));
    inner.split('|').map(|c| c.trim().to_owned()).collect()
}

/// A settings struct's defaults as key → the text a table shows for it (strings bare, numbers
/// and booleans as written in TOML).
pub fn defaults_of<T: serde::Serialize + Default>() -> BTreeMap<String, String> {
    let Value::Object(fields) = serde_json::to_value(T::default()).unwrap() else {
        panic!("the settings do not serialise to an object");
    };
    fields
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => panic!("{key}: a default of this shape ({other}) needs a rule in defaults_of"),
            };
            (key, text)
        })
        .collect()
}
