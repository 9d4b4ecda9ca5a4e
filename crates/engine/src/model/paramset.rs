//! Parameter sets: what a modifier asks of its parameters, merged across modifiers that share a
//! name and overridden by the measurement's parameter configuration, as pyhf's
//! `reduce_paramsets_requirements` does.
use super::ModelError;
use crate::spec::{ModifierType, ParameterConfig};

/// How a parameter set is constrained by auxiliary measurements.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// Free parameters (normfactor, shapefactor).
    Unconstrained,
    /// Gaussian constraint: auxiliary data `auxdata`, widths `sigmas`.
    Normal { auxdata: Vec<f64>, sigmas: Vec<f64> },
    /// Poisson constraint with rate `gamma * factors` (shapesys, Barlow-Beeston tau).
    Poisson { auxdata: Vec<f64>, factors: Vec<f64> },
}

impl Constraint {
    pub fn auxdata(&self) -> &[f64] {
        match self {
            Constraint::Unconstrained => &[],
            Constraint::Normal { auxdata, .. } | Constraint::Poisson { auxdata, .. } => auxdata,
        }
    }

    /// The width of the constraint of each parameter: sigma for Gaussian constraints,
    /// 1/sqrt(tau) for Poisson ones, `None` when unconstrained.
    pub fn widths(&self) -> Option<Vec<f64>> {
        match self {
            Constraint::Unconstrained => None,
            Constraint::Normal { sigmas, .. } => Some(sigmas.clone()),
            Constraint::Poisson { factors, .. } => Some(factors.iter().map(|f| (1.0 / f).sqrt()).collect()),
        }
    }
}

/// A named set of parameters in the model (one for scalars, one per bin for shapes).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSet {
    pub name: String,
    /// The first index of this set in the model's parameter vector.
    pub offset: usize,
    pub inits: Vec<f64>,
    pub bounds: Vec<[f64; 2]>,
    pub fixed: Vec<bool>,
    /// Scalar sets are named `name` in `par_names`; others `name[i]`.
    pub is_scalar: bool,
    pub constraint: Constraint,
}

impl ParamSet {
    pub fn len(&self) -> usize {
        self.inits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inits.is_empty()
    }

    pub fn is_constrained(&self) -> bool {
        !matches!(self.constraint, Constraint::Unconstrained)
    }
}

/// The kind of constraint a modifier asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamsetType {
    Unconstrained,
    ConstrainedByNormal,
    ConstrainedByPoisson,
}

/// What one modifier asks of its parameter set. `None` stands for pyhf's "undefined" (the
/// attribute does not apply) and, for lumi, for values only the measurement can give.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub paramset_type: ParamsetType,
    pub n_parameters: usize,
    pub is_scalar: bool,
    pub inits: Option<Vec<f64>>,
    pub bounds: Option<Vec<[f64; 2]>>,
    pub fixed: Option<Vec<bool>>,
    pub auxdata: Option<Vec<f64>>,
    pub factors: Option<Vec<f64>>,
    pub sigmas: Option<Vec<f64>>,
    /// The modifier type that asked, for messages.
    pub modifier_type: ModifierType,
}

impl Requirement {
    /// A scalar, Gaussian-constrained nuisance parameter around 0 (normsys, histosys).
    pub fn unit_gaussian(modifier_type: ModifierType) -> Self {
        Requirement {
            paramset_type: ParamsetType::ConstrainedByNormal,
            n_parameters: 1,
            is_scalar: true,
            inits: Some(vec![0.0]),
            bounds: Some(vec![[-5.0, 5.0]]),
            fixed: Some(vec![false]),
            auxdata: Some(vec![0.0]),
            factors: None,
            sigmas: None,
            modifier_type,
        }
    }
}

/// Merge the requirements of every modifier sharing a parameter name, then apply the
/// measurement's configuration, as pyhf does. Attributes must agree across modifiers.
pub fn reduce(
    name: &str,
    requirements: &[Requirement],
    user: Option<&ParameterConfig>,
    offset: usize,
) -> Result<ParamSet, ModelError> {
    let first = &requirements[0];
    let disagree = |attr: &str| ModelError::NameReuse {
        parameter: name.to_string(),
        attribute: attr.to_string(),
        types: requirements.iter().map(|r| r.modifier_type.as_str()).collect::<Vec<_>>().join(", "),
    };
    macro_rules! agree {
        ($field:ident) => {
            if requirements.iter().any(|r| r.$field != first.$field) {
                return Err(disagree(stringify!($field)));
            }
        };
    }
    agree!(paramset_type);
    agree!(n_parameters);
    agree!(is_scalar);
    agree!(inits);
    agree!(bounds);
    agree!(fixed);
    agree!(auxdata);
    agree!(factors);
    agree!(sigmas);

    let n = first.n_parameters;
    let override_vec =
        |attr: &str, default: &Option<Vec<f64>>, given: Option<&Vec<f64>>| -> Result<Option<Vec<f64>>, ModelError> {
            match given {
                None => Ok(default.clone()),
                Some(v) => {
                    if default.is_none() && first.modifier_type != ModifierType::Lumi {
                        return Err(ModelError::Config {
                            parameter: name.to_string(),
                            reason: format!("a {} parameter does not use {attr}", first.modifier_type),
                        });
                    }
                    if v.len() != n {
                        return Err(ModelError::Config {
                            parameter: name.to_string(),
                            reason: format!("{} values for {attr}, expected {n}", v.len()),
                        });
                    }
                    Ok(Some(v.clone()))
                }
            }
        };
    let inits = override_vec("inits", &first.inits, user.and_then(|u| u.inits.as_ref()))?;
    let auxdata = override_vec("auxdata", &first.auxdata, user.and_then(|u| u.auxdata.as_ref()))?;
    let factors = override_vec("factors", &first.factors, user.and_then(|u| u.factors.as_ref()))?;
    let sigmas = override_vec("sigmas", &first.sigmas, user.and_then(|u| u.sigmas.as_ref()))?;
    let bounds = match user.and_then(|u| u.bounds.as_ref()) {
        None => first.bounds.clone(),
        Some(b) => {
            if b.len() != n {
                return Err(ModelError::Config {
                    parameter: name.to_string(),
                    reason: format!("{} values for bounds, expected {n}", b.len()),
                });
            }
            Some(b.clone())
        }
    };
    let fixed = match user.and_then(|u| u.fixed) {
        Some(f) => vec![f; n],
        None => first.fixed.clone().unwrap_or_else(|| vec![false; n]),
    };
    let missing = |attr: &str| ModelError::Config {
        parameter: name.to_string(),
        reason: format!("the measurement must configure {attr} for this {} parameter", first.modifier_type),
    };
    let inits = inits.ok_or_else(|| missing("inits"))?;
    let bounds = bounds.ok_or_else(|| missing("bounds"))?;
    let constraint = match first.paramset_type {
        ParamsetType::Unconstrained => Constraint::Unconstrained,
        ParamsetType::ConstrainedByNormal => Constraint::Normal {
            auxdata: auxdata.ok_or_else(|| missing("auxdata"))?,
            // pyhf's constrained_by_normal: width 1 unless sigmas are given.
            sigmas: sigmas.unwrap_or_else(|| vec![1.0; n]),
        },
        ParamsetType::ConstrainedByPoisson => Constraint::Poisson {
            auxdata: auxdata.ok_or_else(|| missing("auxdata"))?,
            factors: factors.ok_or_else(|| missing("factors"))?,
        },
    };
    for (i, (b, x)) in bounds.iter().zip(&inits).enumerate() {
        if !(b[0] <= *x && *x <= b[1]) {
            return Err(ModelError::Config {
                parameter: name.to_string(),
                reason: format!("initial value {x} of component {i} lies outside its bounds [{}, {}]", b[0], b[1]),
            });
        }
    }
    Ok(ParamSet { name: name.to_string(), offset, inits, bounds, fixed, is_scalar: first.is_scalar, constraint })
}
