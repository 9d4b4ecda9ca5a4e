//! `fitfleet scan`: the profile likelihood over a grid in one or two parameters, with a
//! progress bar; the table, CSV or JSON, and the figure.
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use fitfleet_engine::infer::diagnostics::{MAX_SCAN_GRID, Reference, parameter_indices, scan};
use fitfleet_engine::infer::mle::poi_index;
use fitfleet_engine::infer::{FitOptions, Interrupt};

use crate::args::{DiagnosticsFormat, ScanArgs};
use crate::{diagnostics, input, output, plot, progress};

pub fn run(args: &ScanArgs) -> Result<ExitCode> {
    let loaded = input::load(&args.model)?;
    let model = &loaded.compiled;
    let indices = match args.parameters.as_slice() {
        [] => vec![poi_index(model).context("--parameter: the model has no POI, name the parameter to scan")?],
        names if names.len() <= 2 => parameter_indices(model, names).context("--parameter")?,
        names => bail!("--parameter: a scan is in one or two parameters, {} given", names.len()),
    };
    if !args.ranges.is_empty() && args.ranges.len() != indices.len() {
        bail!(
            "--range: give one range per scanned parameter ({} parameters, {} ranges)",
            indices.len(),
            args.ranges.len()
        );
    }
    let points = args.points.unwrap_or(if indices.len() == 1 { 21 } else { 15 });
    if points < 2 || points.checked_pow(indices.len() as u32).is_none_or(|n| n > MAX_SCAN_GRID) {
        bail!("--points {points}: from 2 per parameter to {MAX_SCAN_GRID} points in all");
    }
    let c = model.config();
    // The free fit: the scan's minimum and starts, and the default ranges from its uncertainties.
    let reference = Reference::fit(model, &loaded.data, &FitOptions::default()).context("the free fit")?;
    let mut grids = Vec::with_capacity(indices.len());
    for (n, &i) in indices.iter().enumerate() {
        let [lo, hi] = c.suggested_bounds[i];
        let (a, b) = match args.ranges.get(n) {
            Some(text) => parse_range(text)?,
            None => {
                let (x, s) = (reference.fit.bestfit[i], reference.fit.uncertainties[i]);
                let s = if s.is_finite() && s > 0.0 { s } else { 1.0 };
                ((x - 3.0 * s).max(lo), (x + 3.0 * s).min(hi))
            }
        };
        if !(a >= lo && b <= hi) {
            bail!("--range {a},{b}: {} must stay within its bounds [{lo}, {hi}]", c.par_names[i]);
        }
        grids.push((0..points).map(|k| a + (b - a) * k as f64 / (points - 1) as f64).collect::<Vec<f64>>());
    }
    let bar = progress::bar_of(0, "points");
    let result = scan(
        model,
        &loaded.data,
        &reference,
        &indices,
        &grids,
        &FitOptions::default(),
        &Interrupt::none(),
        &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    );
    bar.finish_and_clear();
    let result = result.context("the scan")?;
    if let Some(path) = &args.plot.plot {
        plot::scan::plot(&result, path, &plot::FigureOptions::from(&args.plot))?;
        eprintln!("fitfleet: wrote {}", path.display());
    }
    let out = args.output.output.out.as_deref();
    match args.output.format {
        DiagnosticsFormat::Table => diagnostics::write(&diagnostics::scan::table(&result), out)?,
        DiagnosticsFormat::Csv => diagnostics::write(&diagnostics::scan::csv(&result)?, out)?,
        DiagnosticsFormat::Json => output::json(&result, out)?,
    }
    Ok(if result.points.iter().all(|p| p.converged) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// "LO,HI" as two finite numbers, LO below HI.
fn parse_range(text: &str) -> Result<(f64, f64)> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let numbers: Option<Vec<f64>> = parts.iter().map(|p| p.parse::<f64>().ok().filter(|v| v.is_finite())).collect();
    match numbers.as_deref() {
        Some(&[a, b]) if a < b => Ok((a, b)),
        _ => bail!("--range {text:?}: expected LO,HI, two numbers with LO below HI"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_are_two_ordered_numbers() {
        assert_eq!(parse_range("-1,2.5").unwrap(), (-1.0, 2.5));
        assert_eq!(parse_range(" 0 , 3 ").unwrap(), (0.0, 3.0));
        for bad in ["1", "2,1", "a,b", "0,inf", "0,1,2"] {
            assert!(parse_range(bad).unwrap_err().to_string().contains("expected LO,HI"), "{bad}");
        }
    }
}
