//! fitfleet's statistics engine: pyhf JSON in, fits and hypothesis tests out.
//!
//! Data flows one way: [`spec`] (the JSON) becomes a [`model`] (pyhf's semantics), which is
//! lowered once into a [`compute::CompiledModel`] (Candle tensors), which [`infer`] fits.
pub mod compute;
pub mod infer;
pub mod interpolators;
pub mod model;
pub mod spec;
