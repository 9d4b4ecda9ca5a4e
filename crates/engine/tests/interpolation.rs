//! Each interpolation code against values computed by hand, and its batched tensor form
//! against its scalar formula.
use candle_core::{Device, Tensor};
use fitfleet_engine::interpolators::{self, code0, code1, code2, code4, code4p};
use fitfleet_engine::model::HistosysInterp;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

// A histosys bin: lo = 8, nominal = 10, hi = 13, so d_up = 3 and d_dn = 2.
const LO: f64 = 8.0;
const NOM: f64 = 10.0;
const HI: f64 = 13.0;

#[test]
fn code0_is_piecewise_linear() {
    assert_eq!(code0::delta(0.5, LO, NOM, HI), 1.5); // 0.5 * 3
    assert_eq!(code0::delta(-0.5, LO, NOM, HI), -1.0); // -0.5 * 2
    assert_eq!(code0::delta(2.0, LO, NOM, HI), 6.0);
    assert_eq!(code0::delta(0.0, LO, NOM, HI), 0.0);
}

#[test]
fn code2_is_quadratic_inside_and_linear_outside_as_pyhf_writes_it() {
    // a = (13 + 8)/2 - 10 = 0.5, b = (13 - 8)/2 = 2.5
    assert!(close(code2::delta(0.5, LO, NOM, HI), 0.5 * 0.25 + 2.5 * 0.5, 1e-15)); // 1.375
    assert!(close(code2::delta(1.0, LO, NOM, HI), 3.0, 1e-15)); // a + b
    assert!(close(code2::delta(-1.0, LO, NOM, HI), -2.0, 1e-15)); // a - b
    // Outside: (b + 2a)(alpha - 1) and (b - 2a)(alpha + 1), pyhf's form.
    assert!(close(code2::delta(2.0, LO, NOM, HI), 3.5, 1e-15));
    assert!(close(code2::delta(-2.0, LO, NOM, HI), -1.5, 1e-15));
}

#[test]
fn code4p_joins_a_polynomial_to_linear_extrapolation() {
    // S = 2.5, A = (3 - 2)/16 = 0.0625; at alpha = 0.5: 0.5 S + 0.25 (15 + 0.25 (0.75 - 10)) A
    let inside = 0.5 * 2.5 + 0.25 * (15.0 + 0.25 * (3.0 * 0.25 - 10.0)) * 0.0625;
    assert!(close(code4p::delta(0.5, LO, NOM, HI), inside, 1e-15));
    assert_eq!(code4p::delta(1.5, LO, NOM, HI), 4.5); // 1.5 * 3
    assert_eq!(code4p::delta(-1.5, LO, NOM, HI), -3.0); // -1.5 * 2
    // Continuous at the joins.
    assert!(close(code4p::delta(1.0, LO, NOM, HI), 3.0, 1e-15));
    assert!(close(code4p::delta(-1.0, LO, NOM, HI), -2.0, 1e-15));
}

#[test]
fn code1_is_piecewise_exponential() {
    assert!(close(code1::factor(0.5, 0.8, 1.2), 1.2f64.sqrt(), 1e-15));
    assert!(close(code1::factor(-0.5, 0.8, 1.2), 0.8f64.sqrt(), 1e-15));
    assert!(close(code1::factor(-2.0, 0.8, 1.2), 0.64, 1e-15));
    assert_eq!(code1::factor(0.0, 0.8, 1.2), 1.0);
}

#[test]
fn code4_matches_the_exponentials_and_their_first_two_derivatives_at_the_joins() {
    let (lo, hi) = (0.8, 1.2);
    let a = code4::polynomial(lo, hi);
    let p = |x: f64| 1.0 + (0..6).map(|i| a[i] * x.powi(i as i32 + 1)).sum::<f64>();
    let dp = |x: f64| (0..6).map(|i| (i + 1) as f64 * a[i] * x.powi(i as i32)).sum::<f64>();
    let d2p = |x: f64| (1..6).map(|i| ((i + 1) * i) as f64 * a[i] * x.powi(i as i32 - 1)).sum::<f64>();
    let (lu, ld) = (hi.ln(), lo.ln());
    assert!(close(p(1.0), hi, 1e-12));
    assert!(close(p(-1.0), lo, 1e-12));
    assert!(close(dp(1.0), lu * hi, 1e-12));
    assert!(close(dp(-1.0), -ld * lo, 1e-12));
    assert!(close(d2p(1.0), lu * lu * hi, 1e-12));
    assert!(close(d2p(-1.0), ld * ld * lo, 1e-12));
    // The reference formula: exponential outside, the polynomial inside.
    assert!(close(code4::factor(0.3, lo, hi), p(0.3), 1e-15));
    assert!(close(code4::factor(1.5, lo, hi), hi.powf(1.5), 1e-15));
    assert!(close(code4::factor(-1.5, lo, hi), lo.powf(1.5), 1e-15));
}

/// The batched basis times the per-bin coefficients reproduces each histosys formula.
#[test]
fn batched_histosys_bases_reproduce_the_scalar_formulas() {
    let alphas = [-3.0, -1.5, -1.0, -0.7, -0.2, 0.0, 0.1, 0.6, 1.0, 1.3, 4.0];
    let t = Tensor::new(&alphas[..], &Device::Cpu).unwrap();
    for code in [HistosysInterp::Code0, HistosysInterp::Code2, HistosysInterp::Code4p] {
        let basis = interpolators::histosys_basis(code, &t).unwrap();
        let c = interpolators::histosys_coefficients(code, LO, NOM, HI);
        let phi1 = basis.values[0].to_vec1::<f64>().unwrap();
        let phi2 = basis.values[1].to_vec1::<f64>().unwrap();
        for (i, a) in alphas.iter().enumerate() {
            let batched = phi1[i] * c[0] + phi2[i] * c[1];
            let scalar = interpolators::histosys_delta(code, *a, LO, NOM, HI);
            assert!(close(batched, scalar, 1e-13), "{code} at {a}: {batched} vs {scalar}");
        }
        // Derivatives against central differences away from the joins.
        let d1 = basis.derivatives[0].to_vec1::<f64>().unwrap();
        let d2 = basis.derivatives[1].to_vec1::<f64>().unwrap();
        for (i, a) in alphas.iter().enumerate() {
            if [-1.0, 0.0, 1.0].contains(a) {
                continue;
            }
            let h = 1e-6;
            let fd = (interpolators::histosys_delta(code, a + h, LO, NOM, HI)
                - interpolators::histosys_delta(code, a - h, LO, NOM, HI))
                / (2.0 * h);
            let analytic = d1[i] * c[0] + d2[i] * c[1];
            assert!(close(analytic, fd, 1e-6), "{code} derivative at {a}: {analytic} vs {fd}");
        }
    }
}

/// Code 1 in log form: ln f = alpha c_1 + |alpha| c_2.
#[test]
fn batched_code1_reproduces_the_scalar_formula() {
    let alphas = [-2.0, -0.5, 0.0, 0.25, 3.0];
    let t = Tensor::new(&alphas[..], &Device::Cpu).unwrap();
    let basis = code1::basis(&t).unwrap();
    let (lo, hi) = (0.7, 1.45);
    let c = code1::coefficients(lo, hi);
    let phi1 = basis.values[0].to_vec1::<f64>().unwrap();
    let phi2 = basis.values[1].to_vec1::<f64>().unwrap();
    for (i, a) in alphas.iter().enumerate() {
        let batched = (phi1[i] * c[0] + phi2[i] * c[1]).exp();
        assert!(close(batched, code1::factor(*a, lo, hi), 1e-14), "code1 at {a}");
    }
}
