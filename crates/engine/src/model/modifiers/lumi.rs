//! `lumi`: the luminosity (pyhf's `pyhf/modifiers/lumi.py`).
//!
//! - Data: null; the modifier is named "lumi".
//! - Parameter: one scalar, shared by every sample that declares it, with a Gaussian constraint.
//!   pyhf has no default for it: its initial value, bounds, auxiliary datum and width come from
//!   the measurement's configuration of "lumi" (`requirement` leaves them undefined).
//! - Validation: the name (`validate`), and a measurement that configures inits, bounds, auxdata
//!   and sigmas (`validate_config`).
//! - Action: multiplicative, its parameter scales every bin of the sample (`term`): one of the
//!   factors the shared rate kernel multiplies (see `FactorTerm`).
use std::ops::Range;

use super::FactorTerm;
use crate::model::paramset::{ParamsetType, Requirement};
use crate::spec::{At, ModifierType, ParameterConfig, Problems};

/// What a lumi asks of its parameter: all but its constraint comes from the measurement.
pub fn requirement() -> Requirement {
    Requirement {
        paramset_type: ParamsetType::ConstrainedByNormal,
        n_parameters: 1,
        is_scalar: true,
        inits: None,
        bounds: None,
        fixed: Some(vec![false]),
        auxdata: None,
        factors: None,
        sigmas: None,
        modifier_type: ModifierType::Lumi,
    }
}

/// What a measurement's parameter configuration may set for the lumi parameter (and, for
/// inits, bounds, auxdata and sigmas, must: see `validate_config`).
pub const CONFIGURABLE: &[&str] = &["inits", "bounds", "fixed", "auxdata", "sigmas"];

/// Spec validation: a lumi modifier is named "lumi" (pyhf's schema).
pub(crate) fn validate(p: &mut Problems, at: At, name: &str) {
    if name != "lumi" {
        p.push(
            format!("{}.name", at.path()),
            format!("a lumi modifier must be named \"lumi\" (pyhf's schema), not {:?}", name),
        );
    }
}

/// Spec validation of a measurement (at `path`) of a workspace with a lumi modifier: pyhf has
/// no default for the luminosity, the measurement must configure it in full.
pub(crate) fn validate_config(p: &mut Problems, path: &str, configs: &[ParameterConfig]) {
    let Some((j, config)) = configs.iter().enumerate().find(|(_, c)| c.name == "lumi") else {
        p.push(
            format!("{path}.config.parameters"),
            "the workspace has a lumi modifier, so the measurement must configure parameter \
             \"lumi\" (inits, bounds, auxdata and sigmas)",
        );
        return;
    };
    let missing: Vec<&str> = [
        ("inits", config.inits.is_none()),
        ("bounds", config.bounds.is_none()),
        ("auxdata", config.auxdata.is_none()),
        ("sigmas", config.sigmas.is_none()),
    ]
    .into_iter()
    .filter_map(|(field, absent)| absent.then_some(field))
    .collect();
    if !missing.is_empty() {
        p.push(
            format!("{path}.config.parameters[{j}]"),
            format!("the luminosity needs inits, bounds, auxdata and sigmas; missing: {}", missing.join(", ")),
        );
    }
}

/// How it acts: its one parameter scales every bin `bins` of sample row `sample`.
pub(crate) fn term(sample: usize, bins: Range<usize>, param: usize) -> FactorTerm {
    FactorTerm { modifier_type: ModifierType::Lumi, sample, params: vec![param; bins.len()], bins }
}
