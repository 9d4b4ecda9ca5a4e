//! `lumi`: the luminosity scale, one parameter shared by every sample that declares it. Its
//! initial value, bounds, auxiliary data and width come from the measurement's configuration.
use crate::model::paramset::{ParamsetType, Requirement};
use crate::spec::ModifierType;

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
