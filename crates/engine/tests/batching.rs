//! A batch of parameter points gives each point what it gets alone: the NLL, its gradient, the
//! rates and their Jacobian, on published models whose code-4 polynomials use both slot layouts
//! (1Lbb: dense; tttt: packed), under both interpolation settings.
mod common;

use fitfleet_engine::compute::CompiledModel;
use serde_json::json;

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-11 * (1.0 + a.abs().max(b.abs()))
}

/// Points spread over the interpolations' regions (inside and outside |alpha| < 1).
fn points(c: &CompiledModel, n: usize) -> Vec<Vec<f64>> {
    let cfg = c.config();
    (0..n)
        .map(|k| {
            cfg.suggested_init
                .iter()
                .zip(&cfg.suggested_bounds)
                .enumerate()
                .map(|(i, (x, b))| {
                    let u = (((i * 7 + k * 13) % 11) as f64 / 10.0 - 0.5) * 3.0; // -1.5 .. 1.5
                    let v = if *x == 0.0 { u } else { x * (1.0 + 0.05 * u) };
                    v.clamp(b[0], b[1])
                })
                .collect()
        })
        .collect()
}

#[test]
fn batched_evaluations_equal_single_ones() {
    let cases = [
        json!({"workspace": "atlas-susy-2019-08-1lbb/BkgOnly.json", "patchset": "atlas-susy-2019-08-1lbb/patchset.json", "patch": "C1N2_Wh_hbb_1000_0"}),
        json!({"workspace": "atlas-tttt/workspace.json"}),
    ];
    for base in cases {
        for interp in ["code4", "code1"] {
            let mut case = base.clone();
            case["interp"] = json!(interp);
            let (_, c) = common::model(&case);
            let xs = points(&c, 3);
            let obs = c.observations(&[c.config().observed_data.clone()]).unwrap();
            let all = c.nll_grad_jacobian(&c.params(&xs).unwrap(), &obs).unwrap();
            let grads = c.nll_grad(&c.params(&xs).unwrap(), &obs).unwrap();
            let (p, nb) = (c.npars(), c.nbins());
            for (k, x) in xs.iter().enumerate() {
                let one = c.nll_grad_jacobian(&c.params(std::slice::from_ref(x)).unwrap(), &obs).unwrap();
                let what = format!("{} [{interp}] point {k}", base["workspace"]);
                assert!(close(all.nll[k], one.nll[0]), "{what}: nll {} vs {}", all.nll[k], one.nll[0]);
                for i in 0..p {
                    assert!(close(all.grad[k * p + i], one.grad[i]), "{what}: grad[{i}]");
                    assert!(close(grads.grad[k * p + i], one.grad[i]), "{what}: nll_grad grad[{i}]");
                }
                for j in 0..nb * p {
                    assert!(close(all.jacobian[k * nb * p + j], one.jacobian[j]), "{what}: jacobian[{j}]");
                }
                for b in 0..nb {
                    assert!(close(all.lambda[k * nb + b], one.lambda[b]), "{what}: lambda[{b}]");
                }
            }
        }
    }
}
