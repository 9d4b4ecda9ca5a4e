//! From a workspace to a [`Model`], walking channels, samples and modifiers in pyhf's order
//! (channels, samples and (name, type) pairs each sorted) so that parameters come out in
//! pyhf's `par_order`.
use std::collections::{BTreeSet, HashMap};

use super::modifiers::{
    HistosysTerm, NormsysTerm, Terms, histosys, lumi, normfactor, normsys, shapefactor, shapesys, staterror,
};
use super::paramset::{self, Requirement};
use super::{ChannelBins, Model, ModelError, ModelSettings};
use crate::spec::{Modifier, ModifierKind, ModifierType, Sample, Workspace};

/// A modifier declared on a (channel, sample), before its parameters have indices.
struct Declared<'a> {
    channel: usize,
    sample: usize,
    modifier: &'a Modifier,
    sample_spec: &'a Sample,
}

pub(super) fn build(ws: &Workspace, settings: &ModelSettings) -> Result<Model, ModelError> {
    let measurement = match &settings.measurement {
        Some(name) => {
            ws.measurements.iter().find(|m| &m.name == name).ok_or_else(|| ModelError::UnknownMeasurement {
                name: name.clone(),
                available: ws.measurements.iter().map(|m| format!("{:?}", m.name)).collect::<Vec<_>>().join(", "),
            })?
        }
        None => ws.measurements.first().ok_or(ModelError::NoMeasurement)?,
    };

    // Channels and samples sorted by name; bins per channel from its first sample.
    let mut nbins_of: HashMap<&str, usize> = HashMap::new();
    for ch in &ws.channels {
        nbins_of.entry(ch.name.as_str()).or_insert_with(|| ch.samples.first().map_or(0, |s| s.data.len()));
    }
    let channel_names: Vec<&str> =
        ws.channels.iter().map(|c| c.name.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
    let mut channels = Vec::with_capacity(channel_names.len());
    let mut offset = 0;
    for name in &channel_names {
        let nbins = nbins_of[name];
        channels.push(ChannelBins { name: name.to_string(), offset, nbins });
        offset += nbins;
    }
    let nbins_total = offset;
    let sample_names: Vec<&str> = ws
        .channels
        .iter()
        .flat_map(|c| c.samples.iter().map(|s| s.name.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Sorted as pyhf sorts (name, type string): the order of ModifierType is that of the names.
    let modifier_keys: Vec<(&str, ModifierType)> = ws
        .channels
        .iter()
        .flat_map(|c| c.samples.iter())
        .flat_map(|s| s.modifiers.iter().map(|m| (m.name.as_str(), m.kind.modifier_type())))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // (channel, sample) -> the sample and its modifiers by (type, name); a later declaration of
    // the same modifier on a sample replaces an earlier one, as in pyhf.
    let channel_index: HashMap<&str, usize> = channel_names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let sample_index: HashMap<&str, usize> = sample_names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    type ModDict<'a> = HashMap<(ModifierType, &'a str), (usize, &'a Modifier)>;
    let mut sites: HashMap<(usize, usize), (usize, usize, &Sample, ModDict)> = HashMap::new();
    let mut unshared_seen: BTreeSet<(ModifierType, &str)> = BTreeSet::new();
    for (ci, ch) in ws.channels.iter().enumerate() {
        for (si, sample) in ch.samples.iter().enumerate() {
            let mut moddict: ModDict = HashMap::new();
            for (mi, m) in sample.modifiers.iter().enumerate() {
                let key = (m.kind.modifier_type(), m.name.as_str());
                if matches!(m.kind, ModifierKind::Shapesys { .. })
                    && (unshared_seen.contains(&key) || moddict.contains_key(&key))
                {
                    return Err(ModelError::Modifier {
                        channel: ci,
                        sample: si,
                        modifier: mi,
                        reason: format!("shapesys {:?} is declared twice; a shapesys cannot be shared", m.name),
                    });
                }
                moddict.insert(key, (mi, m));
            }
            unshared_seen.extend(moddict.keys().filter(|(t, _)| *t == ModifierType::Shapesys).copied());
            let c = channel_index[ch.name.as_str()];
            let s = sample_index[sample.name.as_str()];
            sites.insert((c, s), (ci, si, sample, moddict));
        }
    }

    // Mega-sample nominal rates.
    let mut nominal = vec![vec![0.0; nbins_total]; sample_names.len()];
    for (&(c, s), (ci, si, sample, _)) in &sites {
        let ch = &channels[c];
        if sample.data.len() != ch.nbins {
            return Err(ModelError::Modifier {
                channel: *ci,
                sample: *si,
                modifier: 0,
                reason: format!("sample has {} bins, its channel {}", sample.data.len(), ch.nbins),
            });
        }
        nominal[s][ch.offset..ch.offset + ch.nbins].copy_from_slice(&sample.data);
    }

    // Walk in pyhf's order, collecting declared modifiers and, per modifier type, the
    // requirement of the first declaration of each parameter name.
    let mut declared: Vec<Declared> = Vec::new();
    let mut requirements: HashMap<ModifierType, Vec<(String, Requirement)>> = HashMap::new();
    let mut required: BTreeSet<(ModifierType, &str)> = BTreeSet::new();
    for (c, ch) in channels.iter().enumerate() {
        for (s, _) in sample_names.iter().enumerate() {
            let Some((ci, si, sample, moddict)) = sites.get(&(c, s)) else { continue };
            for &(name, mtype) in &modifier_keys {
                let Some(&(mi, modifier)) = moddict.get(&(mtype, name)) else { continue };
                let bad = |reason: String| ModelError::Modifier { channel: *ci, sample: *si, modifier: mi, reason };
                let requirement = match &modifier.kind {
                    ModifierKind::Histosys { lo_data, hi_data } => {
                        histosys::check_lengths(lo_data, hi_data, ch.nbins).map_err(bad)?;
                        Some(histosys::requirement())
                    }
                    ModifierKind::Normsys { .. } => Some(normsys::requirement()),
                    ModifierKind::Lumi => Some(lumi::requirement()),
                    ModifierKind::Normfactor => Some(normfactor::requirement()),
                    ModifierKind::Shapefactor => Some(shapefactor::requirement(ch.nbins)),
                    ModifierKind::Shapesys { data } => {
                        shapesys::check_lengths(data, ch.nbins).map_err(bad)?;
                        Some(shapesys::requirement(&sample.data, data))
                    }
                    ModifierKind::Staterror { data } => {
                        staterror::check_lengths(data, ch.nbins).map_err(bad)?;
                        None // known once every sample sharing it has been seen
                    }
                };
                if let Some(req) = requirement
                    && required.insert((mtype, name))
                {
                    requirements.entry(mtype).or_default().push((name.to_string(), req));
                }
                declared.push(Declared { channel: c, sample: s, modifier, sample_spec: sample });
            }
        }
    }

    // staterror: widths combine every sample declaring it; parameters cover its bins.
    let mut staterror_bins: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut staterror_declared: HashMap<&str, Vec<staterror::Declaration>> = HashMap::new();
    for d in &declared {
        if let ModifierKind::Staterror { data } = &d.modifier.kind {
            let ch = &channels[d.channel];
            staterror_declared.entry(d.modifier.name.as_str()).or_default().push(staterror::Declaration {
                sample: d.sample,
                bins: ch.offset..ch.offset + ch.nbins,
                data,
            });
        }
    }
    for &(name, mtype) in &modifier_keys {
        if mtype != ModifierType::Staterror {
            continue;
        }
        let (req, bins) = staterror::requirement_of(name, &staterror_declared[name], &nominal, nbins_total)?;
        staterror_bins.insert(name, bins);
        requirements.entry(ModifierType::Staterror).or_default().push((name.to_string(), req));
    }

    // Parameter order: by modifier type, then by first declaration; shared names merge.
    let mut par_order: Vec<String> = Vec::new();
    let mut merged: HashMap<String, Vec<Requirement>> = HashMap::new();
    for mtype in ModifierType::ALL {
        for (name, req) in requirements.remove(&mtype).unwrap_or_default() {
            if !merged.contains_key(&name) {
                par_order.push(name.clone());
            }
            merged.entry(name).or_default().push(req);
        }
    }
    if par_order.is_empty() {
        return Err(ModelError::NoParameters);
    }
    let mut user: HashMap<&str, &crate::spec::ParameterConfig> = HashMap::new();
    for p in &measurement.config.parameters {
        if user.insert(p.name.as_str(), p).is_some() {
            return Err(ModelError::Config {
                parameter: p.name.clone(),
                reason: format!("configured twice in measurement {:?}", measurement.name),
            });
        }
    }
    let mut paramsets = Vec::with_capacity(par_order.len());
    let mut offset_of: HashMap<&str, usize> = HashMap::new();
    let mut next = 0;
    for name in &par_order {
        let set = paramset::reduce(name, &merged[name], user.get(name.as_str()).copied(), next)?;
        next += set.len();
        paramsets.push(set);
    }
    for set in &paramsets {
        offset_of.insert(set.name.as_str(), set.offset);
    }

    // shapesys: parameters cover the bins of the (single) sample declaring it.
    let mut shapesys_bins: HashMap<&str, Vec<usize>> = HashMap::new();
    for d in &declared {
        if let ModifierKind::Shapesys { .. } = d.modifier.kind {
            let ch = &channels[d.channel];
            shapesys_bins.insert(d.modifier.name.as_str(), (ch.offset..ch.offset + ch.nbins).collect());
        }
    }

    let mut terms = Terms::default();
    for d in &declared {
        let ch = &channels[d.channel];
        let bins = ch.offset..ch.offset + ch.nbins;
        let name = d.modifier.name.as_str();
        let offset = offset_of[name];
        match &d.modifier.kind {
            ModifierKind::Histosys { lo_data, hi_data } => terms.histosys.push(HistosysTerm {
                param: offset,
                sample: d.sample,
                bins: bins.clone(),
                lo: lo_data.clone(),
                nom: d.sample_spec.data.clone(),
                hi: hi_data.clone(),
            }),
            ModifierKind::Normsys { lo, hi } => terms.normsys.push(NormsysTerm {
                param: offset,
                sample: d.sample,
                bins: bins.clone(),
                lo: *lo,
                hi: *hi,
            }),
            ModifierKind::Lumi => terms.factors.push(lumi::term(d.sample, bins, offset)),
            ModifierKind::Normfactor => terms.factors.push(normfactor::term(d.sample, bins, offset)),
            ModifierKind::Shapefactor => {
                let n = paramsets.iter().find(|p| p.name == name).map_or(0, |p| p.len());
                terms.factors.push(shapefactor::term(d.sample, bins, offset, n))
            }
            ModifierKind::Shapesys { .. } => {
                terms.factors.push(shapesys::term(d.sample, bins, offset, &shapesys_bins[name]))
            }
            ModifierKind::Staterror { .. } => {
                terms.factors.push(staterror::term(d.sample, bins, offset, &staterror_bins[name]))
            }
        }
    }

    // Parameter of interest.
    let poi = measurement.config.poi.as_str();
    let (poi_index, poi_note) = match paramsets.iter().find(|p| p.name == poi) {
        Some(p) if p.len() > 1 => {
            return Err(ModelError::Poi {
                poi: poi.to_string(),
                reason: format!("has {} components; only a scalar can be the POI", p.len()),
            });
        }
        Some(p) => (Some(p.offset), None),
        None => (
            None,
            Some(format!(
                "measurement {:?} names the parameter of interest {poi:?}, which no modifier of \
                 this model uses (a background-only workspace?); fitting without a POI",
                measurement.name
            )),
        ),
    };

    // Observed data in channel order.
    let mut observed = Vec::with_capacity(nbins_total);
    for ch in &channels {
        let obs = ws
            .observations
            .iter()
            .find(|o| o.name == ch.name)
            .ok_or_else(|| ModelError::Observation(format!("no observation for channel {:?}", ch.name)))?;
        if obs.data.len() != ch.nbins {
            return Err(ModelError::Observation(format!(
                "channel {:?} has {} bins but its observation {} values",
                ch.name,
                ch.nbins,
                obs.data.len()
            )));
        }
        observed.extend_from_slice(&obs.data);
    }

    let mut present = vec![vec![false; sample_names.len()]; channels.len()];
    for &(c, s) in sites.keys() {
        present[c][s] = true;
    }
    Ok(Model {
        settings: settings.clone(),
        measurement: measurement.name.clone(),
        present,
        channels,
        samples: sample_names.iter().map(|s| s.to_string()).collect(),
        nominal,
        paramsets,
        poi_index,
        poi_note,
        terms,
        observed,
    })
}
