//! The figure of a profile-likelihood scan. In one parameter: -2 Delta ln L against the
//! parameter, the points joined, dashed lines at 1 and 4 (68% and 95% for one parameter) and
//! the 68% interval marked. In two: the 68% and 95% contours (-2 Delta ln L = 2.30 and 5.99 for
//! two parameters), traced on the triangulated grid like the exclusion contours
//! ([`super::levelset`]), with the best fit marked.
use std::path::Path;

use anyhow::{Result, bail};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::levelset::Triangulation;
use super::{FONT, FigureOptions, de, house_mesh, render_figure, tick};
use fitfleet_engine::infer::diagnostics::LikelihoodScan;

const LINE: RGBColor = RGBColor(49, 99, 189);
const FAILED: RGBColor = RGBColor(200, 30, 30);
/// -2 Delta ln L of the 68% and 95% regions of two parameters (chi-square, two degrees of
/// freedom: -2 ln(1 - CL)).
pub const LEVELS_2D: [(f64, &str); 2] = [(2.2957, "68%"), (5.9915, "95%")];

/// Draw `scan` into `out`.
pub fn plot(scan: &LikelihoodScan, out: &Path, opts: &FigureOptions) -> Result<()> {
    match scan.parameters.len() {
        1 => render_figure(out, opts.width, 700, |r| draw_1d(r, scan, opts), |r| draw_1d(r, scan, opts)),
        2 => render_figure(out, opts.width, 900, |r| draw_2d(r, scan, opts), |r| draw_2d(r, scan, opts)),
        n => bail!("a scan of {n} parameters cannot be drawn"),
    }
}

fn title(scan: &LikelihoodScan, opts: &FigureOptions) -> String {
    opts.title.clone().unwrap_or_else(|| format!("Profile likelihood of {}", scan.parameters.join(" and ")))
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo < hi { (lo, hi) } else { (lo - 1.0, lo + 1.0) }
}

fn draw_1d<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &LikelihoodScan, opts: &FigureOptions) -> Result<()> {
    root.fill(&WHITE).map_err(de)?;
    let area = root.titled(&title(s, opts), (FONT, 24)).map_err(de)?;
    let (x0, x1) = range(s.points.iter().map(|p| p.values[0]));
    let ymax = s.points.iter().map(|p| p.delta_twice_nll).filter(|v| v.is_finite()).fold(5.0f64, f64::max) * 1.08;
    let mut chart = ChartBuilder::on(&area)
        .margin(20)
        .margin_top(if opts.label.is_some() { 36 } else { 8 })
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..ymax)
        .map_err(de)?;
    house_mesh(
        chart
            .configure_mesh()
            .x_desc(s.parameters[0].as_str())
            .y_desc("−2 Δ ln L")
            .x_label_formatter(&|v: &f64| tick(*v))
            .y_label_formatter(&|v: &f64| tick(*v)),
    )
    .draw()
    .map_err(de)?;
    for (level, text) in [(1.0, "68%"), (4.0, "95%")] {
        chart
            .draw_series([DashedPathElement::new(vec![(x0, level), (x1, level)], 6, 4, BLACK.mix(0.5))])
            .map_err(de)?;
        let (px, py) = chart.backend_coord(&(x1, level));
        root.draw_text(text, &TextStyle::from((FONT, 14)).color(&BLACK), (px - 36, py - 18)).map_err(de)?;
    }
    if let Some([lo, hi]) = s.interval {
        for x in [lo, hi].into_iter().flatten() {
            let line = vec![(x, 0.0), (x, 1.0)];
            chart.draw_series([DashedPathElement::new(line, 3, 3, LINE.stroke_width(2))]).map_err(de)?;
        }
    }
    let line: Vec<(f64, f64)> =
        s.points.iter().filter(|p| p.delta_twice_nll.is_finite()).map(|p| (p.values[0], p.delta_twice_nll)).collect();
    chart.draw_series([PathElement::new(line.clone(), LINE.stroke_width(3))]).map_err(de)?;
    for p in s.points.iter().filter(|p| p.delta_twice_nll.is_finite()) {
        let at = (p.values[0], p.delta_twice_nll);
        if p.converged {
            chart.draw_series([Circle::new(at, 3, LINE.filled())]).map_err(de)?;
        } else {
            chart.draw_series([Cross::new(at, 6, FAILED.stroke_width(2))]).map_err(de)?;
        }
    }
    label(&area, opts)
}

fn draw_2d<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &LikelihoodScan, opts: &FigureOptions) -> Result<()> {
    root.fill(&WHITE).map_err(de)?;
    let area = root.titled(&title(s, opts), (FONT, 24)).map_err(de)?;
    let (x0, x1) = range(s.points.iter().map(|p| p.values[0]));
    let (y0, y1) = range(s.points.iter().map(|p| p.values[1]));
    let mut chart = ChartBuilder::on(&area)
        .margin(20)
        .margin_top(if opts.label.is_some() { 36 } else { 8 })
        .x_label_area_size(55)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(de)?;
    house_mesh(
        chart
            .configure_mesh()
            .x_desc(s.parameters[0].as_str())
            .y_desc(s.parameters[1].as_str())
            .x_label_formatter(&|v: &f64| tick(*v))
            .y_label_formatter(&|v: &f64| tick(*v)),
    )
    .draw()
    .map_err(de)?;
    let finite: Vec<_> = s.points.iter().filter(|p| p.delta_twice_nll.is_finite()).collect();
    let tri = Triangulation::new(&finite.iter().map(|p| (p.values[0], p.values[1])).collect::<Vec<_>>());
    let field: Vec<f64> = tri.source.iter().map(|&i| finite[i].delta_twice_nll).collect();
    for ((level, _), style) in LEVELS_2D.iter().zip([LINE.stroke_width(3), LINE.stroke_width(2)]) {
        for line in tri.level_lines(&field, *level) {
            if *level > 3.0 {
                chart.draw_series([DashedPathElement::new(line, 8, 5, style)]).map_err(de)?;
            } else {
                chart.draw_series([PathElement::new(line, style)]).map_err(de)?;
            }
        }
    }
    for p in &s.points {
        let at = (p.values[0], p.values[1]);
        let mark = if p.converged { BLACK.mix(0.25).filled() } else { FAILED.filled() };
        chart.draw_series([Circle::new(at, 2, mark)]).map_err(de)?;
    }
    let best = (s.bestfit[0], s.bestfit[1]);
    chart.draw_series([Cross::new(best, 8, BLACK.stroke_width(3))]).map_err(de)?;
    let style = TextStyle::from((FONT, 15)).color(&BLACK);
    let (px, py) = chart.backend_coord(&(x1, y1));
    root.draw_text("── 68% CL   - - 95% CL   × best fit", &style, (px - 300, py + 10)).map_err(de)?;
    label(&area, opts)
}

/// The experiment's line in the top-left corner.
fn label<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, opts: &FigureOptions) -> Result<()> {
    if let Some(label) = &opts.label {
        area.draw_text(label, &TextStyle::from((FONT, 20)).color(&BLACK), (90, 8)).map_err(de)?;
    }
    Ok(())
}
