//! `fitfleet patchset list|extract|apply|verify|inspect`: pyhf's patchset commands, plus a
//! list of every patch's values.
use std::process::ExitCode;

use anyhow::{Context, Result};
use fitfleet_engine::spec::ops;
use serde::Serialize;

use crate::args::{
    PatchsetApplyArgs, PatchsetCommand, PatchsetExtractArgs, PatchsetFileArg, PatchsetListArgs, PatchsetVerifyArgs,
};
use crate::ops_io::{read_background_and_patchset, read_patchset, warn_about, write_json};

pub fn run(command: &PatchsetCommand) -> Result<ExitCode> {
    match command {
        PatchsetCommand::List(a) => list(a),
        PatchsetCommand::Extract(a) => extract(a),
        PatchsetCommand::Apply(a) => apply(a),
        PatchsetCommand::Verify(a) => verify(a),
        PatchsetCommand::Inspect(a) => inspect(a),
    }?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct Listing<'a> {
    labels: &'a [String],
    patches: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    name: &'a str,
    values: &'a [fitfleet_engine::spec::PatchValue],
}

fn list(a: &PatchsetListArgs) -> Result<()> {
    let set = read_patchset(&a.patchset.path)?;
    let labels = &set.metadata.labels;
    if a.json {
        let patches = set.patches().iter().map(|p| Entry { name: p.name(), values: p.values() }).collect();
        return crate::output::json(&Listing { labels, patches }, None);
    }
    let mut rows: Vec<Vec<String>> = vec![std::iter::once("name".to_string()).chain(labels.iter().cloned()).collect()];
    for p in set.patches() {
        let values = p.values().iter().map(|v| match v {
            fitfleet_engine::spec::PatchValue::Text(s) => s.clone(),
            v => v.to_string(),
        });
        rows.push(std::iter::once(p.name().to_string()).chain(values).collect());
    }
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            // The name left-aligned, the values right-aligned.
            .map(|(c, s)| if c == 0 { format!("{s:<w$}", w = widths[c]) } else { format!("{s:>w$}", w = widths[c]) })
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
    Ok(())
}

fn extract(a: &PatchsetExtractArgs) -> Result<()> {
    let set = read_patchset(&a.patchset.path)?;
    let patch = set.find(&a.name.name)?;
    let value = ops::extract(&set, patch, a.with_metadata)?;
    write_json(&value, a.output.output_file.as_deref())
}

fn apply(a: &PatchsetApplyArgs) -> Result<()> {
    let (background, set) = read_background_and_patchset(&a.inputs.workspace.path, a.inputs.patchset.as_deref())?;
    let patched = ops::apply_patch(&set, &background.value, &a.name.name)?;
    warn_about(&patched, "written");
    write_json(&patched.value, a.output.output_file.as_deref())
}

fn verify(a: &PatchsetVerifyArgs) -> Result<()> {
    let workspace = &a.inputs.workspace.path;
    let (background, set) = read_background_and_patchset(workspace, a.inputs.patchset.as_deref())?;
    set.verify_digest(&background.value).with_context(|| {
        format!("{}: the patchset {} was not made for this workspace", workspace.display(), set.source_name)
    })?;
    println!("All good.");
    Ok(())
}

fn inspect(a: &PatchsetFileArg) -> Result<()> {
    let set = read_patchset(&a.path)?;
    // pyhf's layout, to the blank lines.
    println!("\n    {} patches found in Patchset", set.len());
    println!("---------------------------------\n");
    for name in set.patch_names() {
        println!("{name}");
    }
    Ok(())
}
