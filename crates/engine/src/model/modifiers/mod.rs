//! The seven HistFactory modifiers, one file each, as pyhf's `pyhf/modifiers/<type>.py`. A
//! modifier's file says what it is and holds what is its own:
//! - the `data` it takes in the JSON (its typed form is a variant of `spec::ModifierKind`);
//! - its parameters: `requirement()`, what it asks of its parameter set (constraint, bounds,
//!   initial values, one per bin or not), and `CONFIGURABLE`, what a measurement may set;
//! - its validation rules, `validate()` and the like, which `spec/validate.rs` calls (same
//!   messages and JSON paths as when they were written there);
//! - what it adds to the model (its terms, staterror's widths) and how it acts on the rates:
//!   histosys's deltas and normsys's factor with their lowering to tensors and their reverse
//!   passes; for the five multiplicative types, which parameter scales which bin (`term()`).
//!
//! What is shared stays where it is shared, and why:
//! - the list of types, [`ModifierType`], is defined once in `spec/workspace.rs`: the spec is the
//!   lowest layer and reads `type` with it; model and compute use it (re-exported here);
//! - reading `{"name", "type", "data"}` is one match over the types in `spec/modifier_serde.rs`,
//!   and the checks that are not one modifier's (names, bins, observations, measurements; which
//!   types may share a parameter name, [`may_share`]) are in `spec/validate.rs`;
//! - `model/build.rs` walks channels, samples and modifiers in pyhf's order, and
//!   `model/paramset.rs` merges the requirements of modifiers sharing a name and applies the
//!   measurement's configuration (pyhf's `reduce_paramsets_requirements`);
//! - `compute/` evaluates every modifier at once: the NLL and its hand-written gradient are one
//!   batched formulation, `rate = (nominal + histosys deltas) * normsys factor * prod F`. The
//!   [`FactorTerm`]s of normfactor, lumi, shapefactor, shapesys and staterror become layers of one
//!   gather multiplied in one pass (`compute/lower.rs`, `compute/rates.rs`), and the constraints
//!   go by kind, Gaussian (histosys, normsys, lumi, staterror) or Poisson (shapesys), not by
//!   modifier (`compute/constraints.rs`);
//! - the interpolation codes of histosys and normsys are in `interpolators/`, one file per code,
//!   as in pyhf.
//!
//! Rates live in pyhf's "mega-sample" layout: one row per distinct sample name (sorted), one
//! column per bin of the concatenated channels (sorted by name). A modifier acts on the bins
//! of the (channel, sample) pairs where it is declared.
pub mod histosys;
pub mod lumi;
pub mod normfactor;
pub mod normsys;
pub mod shapefactor;
pub mod shapesys;
pub mod staterror;

use std::collections::BTreeMap;
use std::ops::Range;

/// The seven modifier types, in pyhf's order (defined with the spec, the lowest layer).
pub use crate::spec::ModifierType;
pub use histosys::HistosysTerm;
pub use normsys::NormsysTerm;

/// What a measurement's parameter configuration may set for a parameter of type `t` (pyhf
/// refuses the others, e.g. `sigmas` on a normsys).
pub fn configurable(t: ModifierType) -> &'static [&'static str] {
    match t {
        ModifierType::Histosys => histosys::CONFIGURABLE,
        ModifierType::Lumi => lumi::CONFIGURABLE,
        ModifierType::Normfactor => normfactor::CONFIGURABLE,
        ModifierType::Normsys => normsys::CONFIGURABLE,
        ModifierType::Shapefactor => shapefactor::CONFIGURABLE,
        ModifierType::Shapesys => shapesys::CONFIGURABLE,
        ModifierType::Staterror => staterror::CONFIGURABLE,
    }
}

/// Whether modifiers of types `a` and `b` may share one parameter name. pyhf merges the
/// requirements of the modifiers sharing a name and refuses them when they disagree: normsys and
/// histosys ask for the same (one unit-Gaussian scalar), any other type agrees only with itself.
/// (A shapesys agrees with itself but is not shared all the same: see `shapesys.rs`.)
pub fn may_share(a: ModifierType, b: ModifierType) -> bool {
    let normal_scalar = |t| matches!(t, ModifierType::Normsys | ModifierType::Histosys);
    a == b || (normal_scalar(a) && normal_scalar(b))
}

/// A multiplicative modifier that scales a sample's bins by one parameter per bin
/// (normfactor, lumi, shapefactor, shapesys, staterror).
#[derive(Debug, Clone, PartialEq)]
pub struct FactorTerm {
    pub modifier_type: ModifierType,
    /// Row in the mega-sample layout.
    pub sample: usize,
    /// Global bins this term scales.
    pub bins: Range<usize>,
    /// Index in the parameter vector of the factor for each bin of `bins`.
    pub params: Vec<usize>,
}

impl FactorTerm {
    /// The term of a per-bin modifier whose parameters cover the global bins `covered`
    /// (parameter `offset + i` scales bin `covered[i]`), on the bins `bins` of sample `sample`.
    pub(crate) fn per_covered_bin(
        modifier_type: ModifierType,
        sample: usize,
        bins: Range<usize>,
        offset: usize,
        covered: &[usize],
    ) -> FactorTerm {
        // `covered` is in increasing order where it comes from a mask (a binary search keeps
        // large models linear); any other order is searched bin by bin.
        let sorted = covered.windows(2).all(|w| w[0] < w[1]);
        let position = |b: usize| {
            if sorted { covered.binary_search(&b).ok() } else { covered.iter().position(|x| *x == b) }
        };
        let params = bins.clone().map(|b| offset + position(b).expect("bin covered")).collect();
        FactorTerm { modifier_type, sample, bins, params }
    }
}

/// The model's own check that a modifier's per-bin `data` has the sample's `nbins` (the spec
/// validation reports it with its JSON path; a workspace built in code may not have been
/// validated).
pub(crate) fn check_lengths(modifier_type: ModifierType, data: &[f64], nbins: usize) -> Result<(), String> {
    if data.len() != nbins {
        return Err(format!("{modifier_type} has {} values for {nbins} bins", data.len()));
    }
    Ok(())
}

/// Every modifier of the model, lowered to terms on the mega-sample layout.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Terms {
    pub histosys: Vec<HistosysTerm>,
    pub normsys: Vec<NormsysTerm>,
    pub factors: Vec<FactorTerm>,
}

/// Distinct values in order of value, each with its row number: the parameters of a modifier
/// type, each given a row of its lowered tensors.
pub(crate) fn distinct(values: impl Iterator<Item = usize>) -> BTreeMap<usize, usize> {
    let mut set: Vec<usize> = values.collect();
    set.sort_unstable();
    set.dedup();
    set.into_iter().enumerate().map(|(row, v)| (v, row)).collect()
}

/// The values of a [`distinct`] map in row order, padded with `None` to `width`.
pub(crate) fn ordered(map: &BTreeMap<usize, usize>, width: usize) -> Vec<Option<usize>> {
    let mut v = vec![None; width];
    for (&value, &row) in map {
        v[row] = Some(value);
    }
    v
}
