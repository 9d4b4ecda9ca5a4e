//! The seven HistFactory modifiers, one file each: what parameters each asks for and how
//! it acts on the expected rates.
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

use std::ops::Range;

pub use histosys::HistosysTerm;
pub use normsys::NormsysTerm;
/// The seven modifier types, in pyhf's order (defined with the spec, the lowest layer).
pub use crate::spec::ModifierType;

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

/// Every modifier of the model, lowered to terms on the mega-sample layout.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Terms {
    pub histosys: Vec<HistosysTerm>,
    pub normsys: Vec<NormsysTerm>,
    pub factors: Vec<FactorTerm>,
}
