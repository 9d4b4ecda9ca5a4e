//! `fitfleet inspect`: what `pyhf inspect` prints, from fitfleet's model.
use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use fitfleet_engine::model::{Constraint, Model, ModelSettings};
use serde::Serialize;

use crate::args::InspectArgs;

#[derive(Serialize)]
struct Summary {
    channels: Vec<(String, usize)>,
    samples: Vec<String>,
    /// (parameter set, constraint, modifier types), sorted by name.
    parameters: Vec<(String, String, Vec<String>)>,
    modifiers: BTreeMap<String, String>,
    /// (name, POI, configured parameters), the default first.
    measurements: Vec<(String, String, Vec<String>)>,
    poi_note: Option<String>,
}

pub fn run(args: &InspectArgs) -> Result<ExitCode> {
    let inputs = crate::pallet_files::resolve(&args.workspace.path, None)?;
    let loaded = fitfleet_engine::spec::LoadedWorkspace::from_path(&inputs.workspace)?;
    let ws = &loaded.workspace;
    let model = Model::new(ws, &ModelSettings::default())?;
    let mut types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut modifiers = BTreeMap::new();
    for s in ws.channels.iter().flat_map(|c| &c.samples) {
        for m in &s.modifiers {
            let t = m.kind.type_name().to_string();
            let list = types.entry(m.name.clone()).or_default();
            if !list.contains(&t) {
                list.push(t.clone());
            }
            modifiers.insert(m.name.clone(), t);
        }
    }
    let mut parameters: Vec<(String, String, Vec<String>)> = model
        .paramsets
        .iter()
        .map(|p| {
            let constraint = match p.constraint {
                Constraint::Unconstrained => "unconstrained",
                Constraint::Normal { .. } => "constrained_by_normal",
                Constraint::Poisson { .. } => "constrained_by_poisson",
            };
            let mut t = types.get(&p.name).cloned().unwrap_or_default();
            t.sort();
            (p.name.clone(), constraint.to_string(), t)
        })
        .collect();
    parameters.sort();
    let summary = Summary {
        channels: model.channels.iter().map(|c| (c.name.clone(), c.nbins)).collect(),
        samples: model.samples.clone(),
        parameters,
        modifiers,
        measurements: ws
            .measurements
            .iter()
            .map(|m| {
                (m.name.clone(), m.config.poi.clone(), m.config.parameters.iter().map(|p| p.name.clone()).collect())
            })
            .collect(),
        poi_note: model.poi_note.clone(),
    };
    if args.json {
        crate::output::json(&summary, None)?;
    } else {
        print!("{}", render(&summary));
    }
    Ok(ExitCode::SUCCESS)
}

/// The text layout of `pyhf inspect`.
fn render(s: &Summary) -> String {
    let mut out = String::new();
    let width = s
        .parameters
        .iter()
        .map(|p| p.0.len())
        .chain(s.channels.iter().map(|c| c.0.len()))
        .chain(s.samples.iter().map(|x| x.len()))
        .chain(s.measurements.iter().map(|m| m.0.len() + 4))
        .chain(["measurement".len()])
        .max()
        .unwrap_or(10);
    let line = |out: &mut String, a: &str, b: &str, c: &str| {
        out.push_str(format!("{a:>width$}  {b:<22}  {c}\n").trim_end());
        out.push('\n');
    };
    out.push_str(&format!("{:>w$}\n{:>w$}\n", "     Summary     ", "-".repeat(18), w = width + 7));
    for (k, n) in [
        ("channels", s.channels.len()),
        ("samples", s.samples.len()),
        ("parameters", s.parameters.len()),
        ("modifiers", s.modifiers.len()),
    ] {
        out.push_str(&format!("{k:>w$}  {n}\n", w = width + 7));
    }
    out.push('\n');
    out.push_str(&format!("{:>width$}  {:^5}\n{:>width$}  {:^5}\n", "channels", "nbins", "----------", "-----"));
    for (c, n) in &s.channels {
        out.push_str(&format!("{c:>width$}  {n:^5}\n"));
    }
    out.push('\n');
    out.push_str(&format!("{:>width$}\n{:>width$}\n", "samples", "----------"));
    for x in &s.samples {
        out.push_str(&format!("{x:>width$}\n"));
    }
    out.push('\n');
    line(&mut out, "parameters", "constraint", "modifiers");
    line(&mut out, "----------", "----------", "----------");
    for (p, c, t) in &s.parameters {
        line(&mut out, p, c, &t.join(","));
    }
    out.push('\n');
    line(&mut out, "measurement", "poi", "parameters");
    line(&mut out, "----------", "----------", "----------");
    for (i, (m, poi, pars)) in s.measurements.iter().enumerate() {
        let name = if i == 0 { format!("(*) {m}") } else { m.clone() };
        let pars = if pars.is_empty() { "(none)".to_string() } else { pars.join(",") };
        line(&mut out, &name, poi, &pars);
    }
    if let Some(note) = &s.poi_note {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    out
}
