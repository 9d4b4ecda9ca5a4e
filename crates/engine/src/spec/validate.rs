//! Checks a parsed workspace for what pyhf would reject, by its JSON schema or when it builds
//! the model, and a few things pyhf lets through silently but that are always mistakes.
//!
//! What is checked, each problem reported with its path (the rules of one modifier type are in
//! its file in `model/modifiers/`, as functions called from here):
//! - `version` is "1.0.0"; there is at least one channel, measurement and observation;
//! - channel names are unique, every channel has samples, sample names are unique in a channel,
//!   and all samples of a channel have the same number of bins (at least one);
//! - `histosys` `lo_data`/`hi_data`, `shapesys` and `staterror` data have the sample's bin count;
//! - a `lumi` modifier is named "lumi" (pyhf's schema), a `shapesys` name is used once (pyhf does
//!   not share shapesys parameters), and one name is not used by modifier types that cannot share
//!   a parameter (pyhf's `InvalidNameReuse`; `normsys` and `histosys` may share);
//! - every channel has exactly one observation with its bin count, every observation belongs to
//!   a channel, observed counts are not negative;
//! - every number is finite;
//! - measurement names are unique; in each measurement parameter configurations are unique by
//!   name, `bounds` are `[lo, hi]` with `lo <= hi`, `inits` lie inside the bounds, a configured
//!   attribute is one the modifier uses (pyhf refuses `sigmas` on a `normsys`, ...) with one
//!   value per parameter, and when the workspace has a `lumi` modifier the measurement
//!   configures `lumi`'s `inits`, `bounds`, `auxdata` and `sigmas` (pyhf cannot build the model
//!   otherwise).
//!
//! The POI is not checked: background-only workspaces name a POI that only a signal patch adds.

use std::collections::{HashMap, HashSet};

use super::error::{Problems, SpecError, SpecErrorKind};
use super::workspace::{Modifier, ModifierKind, ModifierType, ParameterConfig, Workspace};
use crate::model::modifiers::{self, histosys, lumi, normsys, shapesys, staterror};

/// The only workspace format version pyhf knows.
pub const WORKSPACE_VERSION: &str = "1.0.0";

impl Workspace {
    /// Checks the workspace as pyhf would; every problem (up to a cap) names its path.
    pub fn validate(&self, source_name: &str) -> Result<(), SpecError> {
        validate_workspace(self, source_name, &HashSet::new())
    }
}

/// Checks `ws`; observations of the channels named in `removed_channels` may remain without
/// their channel (a signal patch may remove channels and leave their observations, which pyhf
/// accepts: only the observations of the model's channels are used).
pub(crate) fn validate_workspace(
    ws: &Workspace,
    source_name: &str,
    removed_channels: &HashSet<&str>,
) -> Result<(), SpecError> {
    let mut p = Problems::default();
    check_workspace(ws, removed_channels, &mut p);
    p.into_result(SpecErrorKind::Invalid, source_name)
}

/// A modifier's place in the workspace, formatted only when a problem is reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At {
    pub channel: usize,
    pub sample: usize,
    pub modifier: usize,
}

impl At {
    pub(crate) fn path(self) -> String {
        format!("channels[{}].samples[{}].modifiers[{}]", self.channel, self.sample, self.modifier)
    }
}

/// What the channels say about one parameter (set) name.
#[derive(Debug)]
struct Parameter {
    /// The type of its first declaration.
    modifier_type: ModifierType,
    first: At,
    /// Number of parameters in the set as pyhf counts them, for scalar and per-sample families.
    n_parameters: usize,
    /// For `staterror`: the channels it appears in (its parameters are their bins).
    channels: Vec<usize>,
}

fn check_workspace(ws: &Workspace, removed_channels: &HashSet<&str>, p: &mut Problems) {
    check_version_and_lists(ws, p);
    let bins = check_channels(ws, p);
    let parameters = check_modifiers(ws, &bins, p);
    check_observations(ws, &bins, removed_channels, p);
    check_measurements(ws, &parameters, p);
}

/// The schema's top level: a supported version, and channels, measurements and observations
/// that are not empty.
pub(super) fn check_version_and_lists(ws: &Workspace, p: &mut Problems) {
    if ws.version != WORKSPACE_VERSION {
        p.push("version", format!("version {:?} is not supported (expected {WORKSPACE_VERSION:?})", ws.version));
    }
    for (field, empty) in [
        ("channels", ws.channels.is_empty()),
        ("measurements", ws.measurements.is_empty()),
        ("observations", ws.observations.is_empty()),
    ] {
        if empty {
            p.push(field, format!("a workspace needs at least one entry in {field}"));
        }
    }
}

/// Checks channels and samples; returns each channel's bin count (that of its first sample).
fn check_channels(ws: &Workspace, p: &mut Problems) -> Vec<usize> {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut bins = Vec::with_capacity(ws.channels.len());
    for (c, channel) in ws.channels.iter().enumerate() {
        if let Some(first) = names.insert(&channel.name, c) {
            names.insert(&channel.name, first);
            p.push(
                format!("channels[{c}].name"),
                format!("channel {:?} is already defined at channels[{first}]", channel.name),
            );
        }
        if channel.samples.is_empty() {
            p.push(format!("channels[{c}].samples"), "a channel needs at least one sample");
        }
        let nbins = channel.samples.first().map_or(0, |s| s.data.len());
        bins.push(nbins);
        let mut sample_names: HashMap<&str, usize> = HashMap::new();
        for (s, sample) in channel.samples.iter().enumerate() {
            let path = format!("channels[{c}].samples[{s}]");
            if let Some(first) = sample_names.insert(&sample.name, s) {
                sample_names.insert(&sample.name, first);
                p.push(
                    format!("{path}.name"),
                    format!(
                        "sample {:?} is already defined in channel {:?} at samples[{first}]",
                        sample.name, channel.name
                    ),
                );
            }
            if sample.data.is_empty() {
                p.push(format!("{path}.data"), "a sample needs at least one bin");
            } else if sample.data.len() != nbins {
                p.push(
                    format!("{path}.data"),
                    format!(
                        "{} bins, but sample {:?} (samples[0]) of channel {:?} has {nbins}: \
                         all samples of a channel have the same bins",
                        sample.data.len(),
                        channel.samples[0].name,
                        channel.name
                    ),
                );
            }
            if !sample.data.iter().all(|v| v.is_finite()) {
                check_finite(p, &format!("{path}.data"), &sample.data);
            }
        }
    }
    bins
}

/// Checks every modifier; returns what is known of each parameter name.
fn check_modifiers<'w>(ws: &'w Workspace, bins: &[usize], p: &mut Problems) -> HashMap<&'w str, Parameter> {
    let mut parameters: HashMap<&str, Parameter> = HashMap::new();
    for (c, channel) in ws.channels.iter().enumerate() {
        for (s, sample) in channel.samples.iter().enumerate() {
            let nbins = sample.data.len();
            for (m, modifier) in sample.modifiers.iter().enumerate() {
                let at = At { channel: c, sample: s, modifier: m };
                check_modifier(p, at, modifier, nbins);
                let modifier_type = modifier.kind.modifier_type();
                match parameters.get_mut(modifier.name.as_str()) {
                    None => {
                        parameters.insert(
                            &modifier.name,
                            Parameter {
                                modifier_type,
                                first: at,
                                n_parameters: match modifier_type {
                                    ModifierType::Shapefactor | ModifierType::Shapesys => nbins,
                                    ModifierType::Staterror => 0,
                                    _ => 1,
                                },
                                channels: vec![c],
                            },
                        );
                    }
                    Some(known) if !modifiers::may_share(known.modifier_type, modifier_type) => p.push(
                        format!("{}.name", at.path()),
                        format!(
                            "parameter {:?} is a {modifier_type} here but a {} at {}: pyhf cannot \
                             share one parameter between these modifier types",
                            modifier.name,
                            known.modifier_type,
                            known.first.path()
                        ),
                    ),
                    Some(known) if modifier_type == ModifierType::Shapesys => {
                        shapesys::check_not_shared(p, at, &modifier.name, known.first)
                    }
                    Some(known) => {
                        if known.channels.last() != Some(&c) {
                            known.channels.push(c);
                        }
                    }
                }
            }
        }
    }
    for parameter in parameters.values_mut() {
        if parameter.modifier_type == ModifierType::Staterror {
            parameter.n_parameters = parameter.channels.iter().map(|&c| bins[c]).sum();
        }
    }
    parameters
}

/// The rules of the modifier's type, in its file in `model/modifiers/`.
fn check_modifier(p: &mut Problems, at: At, modifier: &Modifier, nbins: usize) {
    match &modifier.kind {
        ModifierKind::Histosys { lo_data, hi_data } => histosys::validate(p, at, lo_data, hi_data, nbins),
        ModifierKind::Lumi => lumi::validate(p, at, &modifier.name),
        ModifierKind::Normsys { lo, hi } => normsys::validate(p, at, *lo, *hi),
        ModifierKind::Shapesys { data } => shapesys::validate(p, at, data, nbins),
        ModifierKind::Staterror { data } => staterror::validate(p, at, data, nbins),
        // Their data is null, which reading the JSON has checked.
        ModifierKind::Normfactor | ModifierKind::Shapefactor => {}
    }
}

/// `data`, the modifier's `field`, has one finite value per bin.
pub(crate) fn check_bins(p: &mut Problems, at: At, field: &str, data: &[f64], nbins: usize) {
    // The path is written only for a problem: a large workspace has many modifiers.
    if data.len() == nbins && data.iter().all(|v| v.is_finite()) {
        return;
    }
    let path = format!("{}.{field}", at.path());
    if data.len() != nbins {
        p.push(path.clone(), format!("{} values for {nbins} bins", data.len()));
    }
    check_finite(p, &path, data);
}

fn check_observations(ws: &Workspace, bins: &[usize], removed_channels: &HashSet<&str>, p: &mut Problems) {
    let channels: HashMap<&str, usize> = ws.channels.iter().enumerate().map(|(c, ch)| (ch.name.as_str(), c)).collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (o, obs) in ws.observations.iter().enumerate() {
        let path = format!("observations[{o}]");
        if let Some(first) = seen.insert(&obs.name, o) {
            seen.insert(&obs.name, first);
            p.push(
                format!("{path}.name"),
                format!("channel {:?} already has an observation at observations[{first}]", obs.name),
            );
            continue;
        }
        match channels.get(obs.name.as_str()) {
            Some(&c) if obs.data.len() != bins[c] => p.push(
                format!("{path}.data"),
                format!("{} values for {} bins of channel {:?}", obs.data.len(), bins[c], obs.name),
            ),
            Some(_) => {}
            None if removed_channels.contains(obs.name.as_str()) => {}
            None => p.push(
                format!("{path}.name"),
                format!("observation for {:?}, but there is no channel of that name", obs.name),
            ),
        }
        check_finite(p, &format!("{path}.data"), &obs.data);
        for (i, &n) in obs.data.iter().enumerate() {
            if n < 0.0 {
                p.push(format!("{path}.data[{i}]"), format!("negative observed count {n}"));
            }
        }
    }
    for (c, channel) in ws.channels.iter().enumerate() {
        if !seen.contains_key(channel.name.as_str()) {
            p.push("observations", format!("no observation for channel {:?} (channels[{c}])", channel.name));
        }
    }
}

fn check_measurements(ws: &Workspace, parameters: &HashMap<&str, Parameter>, p: &mut Problems) {
    let has_lumi = parameters.get("lumi").is_some_and(|par| par.modifier_type == ModifierType::Lumi);
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, measurement) in ws.measurements.iter().enumerate() {
        let path = format!("measurements[{i}]");
        if let Some(first) = names.insert(&measurement.name, i) {
            names.insert(&measurement.name, first);
            p.push(
                format!("{path}.name"),
                format!("measurement {:?} is already defined at measurements[{first}]", measurement.name),
            );
        }
        let mut configs: HashMap<&str, usize> = HashMap::new();
        for (j, config) in measurement.config.parameters.iter().enumerate() {
            let cpath = format!("{path}.config.parameters[{j}]");
            if let Some(first) = configs.insert(&config.name, j) {
                configs.insert(&config.name, first);
                p.push(
                    format!("{cpath}.name"),
                    format!(
                        "parameter {:?} is already configured at parameters[{first}] of this measurement",
                        config.name
                    ),
                );
                continue;
            }
            check_parameter_config(p, &cpath, config, parameters.get(config.name.as_str()));
        }
        if has_lumi {
            lumi::validate_config(p, &path, &measurement.config.parameters);
        }
    }
}

fn check_parameter_config(p: &mut Problems, path: &str, config: &ParameterConfig, parameter: Option<&Parameter>) {
    let lists: [(&str, Option<&[f64]>); 4] = [
        ("inits", config.inits.as_deref()),
        ("auxdata", config.auxdata.as_deref()),
        ("factors", config.factors.as_deref()),
        ("sigmas", config.sigmas.as_deref()),
    ];
    let bounds_len = config.bounds.as_ref().map(Vec::len);
    for (field, len) in lists.iter().map(|(f, v)| (*f, v.map(<[f64]>::len))).chain([("bounds", bounds_len)]) {
        let Some(len) = len else { continue };
        let fpath = format!("{path}.{field}");
        if len == 0 {
            p.push(fpath, format!("{field} needs at least one value"));
            continue;
        }
        let Some(par) = parameter else { continue };
        if !modifiers::configurable(par.modifier_type).contains(&field) {
            p.push(
                fpath,
                format!("{:?} is a {} parameter, which does not use {field}", config.name, par.modifier_type),
            );
        } else if len != par.n_parameters {
            p.push(
                fpath,
                format!(
                    "{len} values for the {} parameter{} of {} {:?}",
                    par.n_parameters,
                    if par.n_parameters == 1 { "" } else { "s" },
                    par.modifier_type,
                    config.name
                ),
            );
        }
    }
    for (field, values) in lists {
        if let Some(values) = values {
            check_finite(p, &format!("{path}.{field}"), values);
        }
    }
    let Some(bounds) = &config.bounds else { return };
    for (k, &[lo, hi]) in bounds.iter().enumerate() {
        let bpath = format!("{path}.bounds[{k}]");
        if !lo.is_finite() || !hi.is_finite() {
            p.push(bpath, format!("bounds [{lo}, {hi}] are not finite numbers"));
        } else if lo > hi {
            p.push(bpath, format!("lower bound {lo} is above the upper bound {hi}"));
        }
    }
    if let Some(inits) = &config.inits {
        for (k, (&init, &[lo, hi])) in inits.iter().zip(bounds).enumerate() {
            if lo <= hi && !(lo..=hi).contains(&init) {
                p.push(
                    format!("{path}.inits[{k}]"),
                    format!("initial value {init} is outside the bounds [{lo}, {hi}]"),
                );
            }
        }
    }
}

fn check_finite(p: &mut Problems, path: &str, values: &[f64]) {
    for (i, &v) in values.iter().enumerate() {
        if !v.is_finite() {
            p.push(format!("{path}[{i}]"), not_finite(v));
        }
    }
}

pub(crate) fn not_finite(v: f64) -> String {
    format!("{v} is not a finite number")
}
