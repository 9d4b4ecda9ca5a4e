//! `fitfleet workspace combine|prune|rename|sort|digest`: pyhf's workspace operations (the
//! engine's `spec::ops`), reading what every command reads and writing what pyhf writes.
use std::process::ExitCode;

use anyhow::{Result, bail};
use fitfleet_engine::spec::ops::{self, Checked, Prune, Rename};
use fitfleet_engine::spec::{DigestAlgorithm, digest_with, python_json_dumps_pretty};
use serde_json::{Map, Value};

use crate::args::{CombineArgs, DigestArgs, PruneArgs, RenameArgs, WorkspaceCommand, WorkspaceOutputArgs};
use crate::ops_io::{read_workspace, warn_about, write_json};

pub fn run(command: &WorkspaceCommand) -> Result<ExitCode> {
    match command {
        WorkspaceCommand::Combine(a) => combine(a),
        WorkspaceCommand::Prune(a) => prune(a),
        WorkspaceCommand::Rename(a) => rename(a),
        WorkspaceCommand::Sort(a) => sort(a),
        WorkspaceCommand::Digest(a) => digest(a),
    }?;
    Ok(ExitCode::SUCCESS)
}

/// Checks what an operation made as pyhf's schema would, then writes it.
fn finish(source: &str, value: Value, output: Option<&std::path::Path>) -> Result<()> {
    let checked = Checked::new(source, value)?;
    warn_about(&checked, "written");
    write_json(&checked.value, output)
}

fn combine(a: &CombineArgs) -> Result<()> {
    if matches!(a.join, crate::args::JoinMode::LeftOuter | crate::args::JoinMode::RightOuter) {
        tracing::warn!(
            "join {:?} keeps one side's channels, observations and measurements where names clash, silently",
            ops::Join::from(a.join).as_str()
        );
    }
    let mut paths = a.workspaces.iter();
    let first = paths.next().expect("clap requires two workspaces");
    let mut combined = read_workspace(first)?.value;
    let mut names = first.display().to_string();
    for path in paths {
        let right = read_workspace(path)?;
        names = format!("{names} + {}", path.display());
        let source = format!("combine({names})");
        combined = ops::combine(&source, &combined, &right.value, a.join.into(), a.merge_channels)?;
        combined = Checked::new(&source, combined)?.value;
    }
    finish(&format!("combine({names})"), combined, a.output.output_file.as_deref())
}

fn prune(a: &PruneArgs) -> Result<()> {
    let path = &a.workspace.path;
    let ws = read_workspace(path)?;
    let what = Prune {
        channels: a.channel.clone(),
        samples: a.sample.clone(),
        modifiers: a.modifier.clone(),
        modifier_types: a.modifier_type.clone(),
        measurements: a.measurement.clone(),
    };
    let source = path.display().to_string();
    let pruned = ops::prune(&source, &ws.value, &what)?;
    finish(&format!("{source} pruned"), pruned, a.output.output_file.as_deref())
}

/// `OLD NEW OLD NEW ...` as pairs.
fn pairs(flat: &[String]) -> Vec<(String, String)> {
    flat.chunks_exact(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}

fn rename(a: &RenameArgs) -> Result<()> {
    let path = &a.workspace.path;
    let ws = read_workspace(path)?;
    let what = Rename {
        channels: pairs(&a.channel),
        samples: pairs(&a.sample),
        modifiers: pairs(&a.modifier),
        measurements: pairs(&a.measurement),
    };
    let source = path.display().to_string();
    let renamed = ops::rename(&source, &ws.value, &what)?;
    finish(&format!("{source} renamed"), renamed, a.output.output_file.as_deref())
}

fn sort(a: &WorkspaceOutputArgs) -> Result<()> {
    let path = &a.workspace.path;
    let ws = read_workspace(path)?;
    finish(&format!("{} sorted", path.display()), ops::sorted(&ws.value), a.output.output_file.as_deref())
}

fn digest(a: &DigestArgs) -> Result<()> {
    let mut algorithms = Vec::new();
    for name in &a.algorithm {
        let Some(algorithm) = DigestAlgorithm::from_name(name) else {
            let known: Vec<&str> = DigestAlgorithm::ALL.iter().map(|a| a.name()).collect();
            bail!("--algorithm {name:?}: not a hash algorithm fitfleet knows ({})", known.join(", "));
        };
        algorithms.push(algorithm);
    }
    let ws = read_workspace(&a.workspace.path)?;
    // As pyhf: a dictionary by algorithm, so an algorithm given twice is printed once.
    let mut digests: Vec<(DigestAlgorithm, String)> = Vec::new();
    for algorithm in algorithms {
        if !digests.iter().any(|(a, _)| *a == algorithm) {
            digests.push((algorithm, digest_with(&ws.value, algorithm)));
        }
    }
    if a.json {
        let map: Map<String, Value> =
            digests.into_iter().map(|(a, d)| (a.name().to_string(), Value::String(d))).collect();
        println!("{}", python_json_dumps_pretty(&Value::Object(map)));
    } else {
        for (algorithm, d) in digests {
            println!("{}:{d}", algorithm.name());
        }
    }
    Ok(())
}
