//! Code 4: pyhf 0.7's default normsys interpolation. Exponential (code 1) for |alpha| >= 1 and,
//! inside, the sixth-order polynomial 1 + sum_i a_i alpha^i that matches the exponentials' value,
//! first and second derivatives at alpha = +-1.
//!
//! Batched: outside, ln f is linear in (alpha, |alpha|) masked to |alpha| >= 1, as code 1;
//! inside, ln(1 + p(alpha)) is evaluated per (modifier, sample, channel) with its coefficients.
use candle_core::{Result, Tensor};

use super::{Basis, ln_kappa};

/// The polynomial's coefficients a_1..a_6 for a normsys with factors `lo` and `hi` (alpha0 = 1).
pub fn polynomial(lo: f64, hi: f64) -> [f64; 6] {
    let (ln_up, ln_dn) = (ln_kappa(hi), ln_kappa(lo));
    let (up, dn) = (hi, lo);
    let b = [up - 1.0, dn - 1.0, ln_up * up, -ln_dn * dn, ln_up * ln_up * up, ln_dn * ln_dn * dn];
    // pyhf's A^-1 for alpha0 = 1.
    const A_INV: [[f64; 6]; 6] = [
        [15.0 / 16.0, -15.0 / 16.0, -7.0 / 16.0, -7.0 / 16.0, 1.0 / 16.0, -1.0 / 16.0],
        [3.0 / 2.0, 3.0 / 2.0, -9.0 / 16.0, 9.0 / 16.0, 1.0 / 16.0, 1.0 / 16.0],
        [-5.0 / 8.0, 5.0 / 8.0, 5.0 / 8.0, 5.0 / 8.0, -1.0 / 8.0, 1.0 / 8.0],
        [-3.0 / 2.0, -3.0 / 2.0, 7.0 / 8.0, -7.0 / 8.0, -1.0 / 8.0, -1.0 / 8.0],
        [3.0 / 16.0, -3.0 / 16.0, -3.0 / 16.0, -3.0 / 16.0, 1.0 / 16.0, -1.0 / 16.0],
        [1.0 / 2.0, 1.0 / 2.0, -5.0 / 16.0, 5.0 / 16.0, 1.0 / 16.0, 1.0 / 16.0],
    ];
    let mut a = [0.0; 6];
    for (r, row) in A_INV.iter().enumerate() {
        a[r] = row.iter().zip(&b).map(|(x, y)| x * y).sum();
    }
    a
}

/// The factor as pyhf's reference implementation computes it.
pub fn factor(alpha: f64, lo: f64, hi: f64) -> f64 {
    if alpha >= 1.0 {
        hi.powf(alpha)
    } else if alpha > -1.0 {
        let a = polynomial(lo, hi);
        1.0 + (1..=6).map(|i| a[i - 1] * alpha.powi(i as i32)).sum::<f64>()
    } else {
        lo.powf(-alpha)
    }
}

/// Coefficients of the outside basis, as code 1.
pub fn coefficients(lo: f64, hi: f64) -> [f64; 2] {
    super::code1::coefficients(lo, hi)
}

/// The code-1 basis (alpha, |alpha|) masked to |alpha| >= 1, and the mask of |alpha| < 1.
pub fn outside_basis(alpha: &Tensor) -> Result<(Basis, Tensor)> {
    let abs = alpha.abs()?;
    let outside = abs.ge(1.0)?.to_dtype(alpha.dtype())?;
    let inside = outside.affine(-1.0, 1.0)?;
    let basis = Basis {
        values: [(alpha * &outside)?, (abs * &outside)?],
        derivatives: [outside.clone(), (alpha.sign()? * &outside)?],
        kink: None,
    };
    Ok((basis, inside))
}

/// Polynomial coefficients `[1, K, G]` in slots: a_1..a_6 and k a_k for the derivative (zero
/// in empty slots). Dense layout: slot k of every group is parameter k (`slots` is `None`).
/// Packed layout, for models where each group sees few of the parameters: `slots` (u32
/// `[K * G]`) names the parameter of each slot. `gather` (u32 `[K * G]`) names it in both
/// layouts (any parameter for an empty slot: its coefficients are 0).
#[derive(Debug, Clone)]
pub struct PolynomialRows {
    pub a: [Tensor; 6],
    pub da: [Tensor; 6],
    pub slots: Option<Tensor>,
    pub gather: Tensor,
    /// Dense layout only: the same coefficients by power, `[K, 6, G]`: a_1..a_6 (of alpha^1..
    /// alpha^6) and k a_k (of alpha^0..alpha^5), so that every slot's polynomial and its
    /// derivative are one batched matrix product with the powers of its parameter.
    pub by_power: Option<[Tensor; 2]>,
}

impl PolynomialRows {
    /// `by_power` from the coefficient rows (dense layout).
    pub fn stack_by_power(a: &[Tensor; 6], da: &[Tensor; 6]) -> Result<[Tensor; 2]> {
        // Six [1, K, G] rows -> [K, 6, G].
        let stack = |rows: &[Tensor; 6]| Tensor::cat(rows, 0)?.transpose(0, 1)?.contiguous();
        Ok([stack(a)?, stack(da)?])
    }
}

/// ln prod_slots (1 + p(alpha)) per group, `[G, B]`, and the derivatives p'/(1 + p) of each
/// slot's factor, batch-major `[B, K, G]`. `alpha` is `[N, B]`, with parameters outside
/// |alpha| < 1 set to 0 where the polynomial is 0 (their derivatives must be masked by the
/// caller).
///
/// Batch-major, unlike the rest of the model: every product with a coefficient row `[1, K, G]`
/// then runs over B contiguous blocks of K * G values (Candle's vectorised path), where the
/// feature-major layout would make K * G blocks of B values each.
pub fn inside_log_factor(alpha: &Tensor, rows: &PolynomialRows) -> Result<(Tensor, Tensor)> {
    if let Some(by_power) = &rows.by_power {
        return inside_log_factor_dense(alpha, by_power);
    }
    let (_, b) = alpha.dims2()?;
    let (_, k, groups) = rows.a[0].dims3()?;
    let alpha = alpha.t()?.contiguous()?.index_select(&rows.gather, 1)?.reshape((b, k, groups))?;
    // Horner: p = alpha (a1 + alpha (a2 + ... alpha a6)).
    let mut t = alpha.broadcast_mul(&rows.a[5])?;
    for j in (0..5).rev() {
        t = (t.broadcast_add(&rows.a[j])? * &alpha)?;
    }
    let factor = (t + 1.0)?;
    let mut dt = alpha.broadcast_mul(&rows.da[5])?;
    for j in (1..5).rev() {
        dt = (dt.broadcast_add(&rows.da[j])? * &alpha)?;
    }
    let ratio = (dt.broadcast_add(&rows.da[0])? / &factor)?;
    Ok((product_over(factor, 1)?.log()?.t()?, ratio))
}

/// The product over dimension `dim` (removed), by pairing its halves: contiguous blocks, about
/// one pass over the elements in all.
fn product_over(mut prod: Tensor, dim: usize) -> Result<Tensor> {
    let mut n = prod.dim(dim)?;
    while n > 1 {
        let h = n / 2;
        let paired = (prod.narrow(dim, 0, h)? * prod.narrow(dim, n - h, h)?)?;
        prod = if n % 2 == 1 { Tensor::cat(&[&paired, &prod.narrow(dim, h, 1)?], dim)? } else { paired };
        n -= h;
    }
    prod.squeeze(dim)
}

/// [`inside_log_factor`] in the dense layout (slot k is parameter k of every group): the powers
/// of each parameter `[N, B, 6]` times its coefficients by power `[N, 6, G]`, one batched matrix
/// product for the polynomials and one for their derivatives, instead of a dozen passes of
/// Horner's rule over `[B, N, G]`; the product over parameters then halves contiguous blocks.
fn inside_log_factor_dense(alpha: &Tensor, by_power: &[Tensor; 2]) -> Result<(Tensor, Tensor)> {
    let a1 = alpha.unsqueeze(2)?; // [N, B, 1]
    let mut powers = vec![a1.clone()];
    for _ in 1..6 {
        let next = (powers.last().expect("one power") * &a1)?;
        powers.push(next);
    }
    let mut lower = vec![a1.ones_like()?];
    lower.extend(powers[..5].iter().cloned());
    let p = Tensor::cat(&powers, 2)?.matmul(&by_power[0])?; // [N, B, G]
    let dp = Tensor::cat(&lower, 2)?.matmul(&by_power[1])?;
    let factor = (p + 1.0)?;
    let ratio = (dp / &factor)?.transpose(0, 1)?.contiguous()?; // [B, N, G]
    Ok((product_over(factor, 0)?.log()?.t()?, ratio))
}
