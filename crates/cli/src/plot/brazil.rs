//! The Brazil-band figure of an upper-limit scan: observed CLs against mu, the expected median
//! (dashed) in its ±1σ (green) and ±2σ (yellow) bands, the line CLs = alpha, and the observed
//! and expected limits where the curves cross it.
use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::contour::cl_percent;
use super::{FONT, PlotOptions, de, house_mesh, tick};
use crate::results::Entry;

pub const GREEN: RGBColor = RGBColor(0, 205, 0);
pub const YELLOW: RGBColor = RGBColor(255, 230, 0);
const ALPHA_LINE: RGBColor = RGBColor(200, 0, 0);

fn fmt_limit(v: Option<f64>) -> String {
    v.map_or_else(|| "outside the scan".to_string(), |v| format!("{v:.4}"))
}

pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    name: &str,
    entry: &Entry,
    opts: &PlotOptions,
) -> Result<()> {
    let ul = entry.upper_limit.as_ref().ok_or_else(|| anyhow!("entry {name:?} has no upper limit"))?;
    let mut scan: Vec<_> = ul
        .scan
        .iter()
        .flatten()
        .filter(|p| p.mu.is_finite() && p.cls_obs.is_finite() && p.cls_exp.iter().all(|c| c.is_finite()))
        .cloned()
        .collect();
    scan.sort_by(|a, b| a.mu.total_cmp(&b.mu));
    if scan.len() < 2 {
        return Err(anyhow!("entry {name:?}: fewer than two finite scan points to draw"));
    }
    let alpha = ul.alpha;
    let cl = cl_percent(alpha);

    root.fill(&WHITE).map_err(de)?;
    let title = opts.title.clone().unwrap_or_else(|| format!("Upper limit on μ at {cl}% CL: {name}"));
    let area = root.titled(&title, (FONT, 24)).map_err(de)?;
    let meta = format!(
        "{} scan points · alpha = {alpha} · observed limit {} · expected {} (−1σ {}, +1σ {})",
        scan.len(),
        fmt_limit(ul.obs),
        fmt_limit(ul.exp[2]),
        fmt_limit(ul.exp[1]),
        fmt_limit(ul.exp[3]),
    );
    let (meta_area, area) = area.split_vertically(30);
    meta_area.draw_text(&meta, &TextStyle::from((FONT, 15)).color(&BLACK.mix(0.75)), (20, 6)).map_err(de)?;

    let (mu0, mu1) = (scan[0].mu, scan[scan.len() - 1].mu);
    let top = scan.iter().flat_map(|p| p.cls_exp.iter().copied().chain([p.cls_obs])).fold(1.0f64, f64::max) * 1.05;
    let mut chart = ChartBuilder::on(&area)
        .margin(20)
        .margin_top(8)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(mu0..mu1, 0f64..top)
        .map_err(de)?;
    house_mesh(
        chart
            .configure_mesh()
            .x_desc("μ (signal strength)")
            .y_desc("CLs")
            .x_label_formatter(&|v: &f64| tick(*v))
            .y_label_formatter(&|v: &f64| tick(*v)),
    )
    .draw()
    .map_err(de)?;

    if let Some(label) = &opts.label {
        area.draw_text(label, &TextStyle::from((FONT, 20)).color(&BLACK), (20 + 70 + 12, 8 + 10)).map_err(de)?;
    }

    // A band between expected quantiles k_lo and k_hi, as one polygon.
    let band = |lo: usize, hi: usize| -> Vec<(f64, f64)> {
        scan.iter().map(|p| (p.mu, p.cls_exp[lo])).chain(scan.iter().rev().map(|p| (p.mu, p.cls_exp[hi]))).collect()
    };
    chart
        .draw_series(std::iter::once(Polygon::new(band(0, 4), YELLOW.filled())))
        .map_err(de)?
        .label("Expected ±2σ")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 22, y + 6)], YELLOW.filled()));
    chart
        .draw_series(std::iter::once(Polygon::new(band(1, 3), GREEN.filled())))
        .map_err(de)?
        .label("Expected ±1σ")
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 22, y + 6)], GREEN.filled()));
    chart
        .draw_series(DashedLineSeries::new(scan.iter().map(|p| (p.mu, p.cls_exp[2])), 10, 6, BLACK.stroke_width(2)))
        .map_err(de)?
        .label("Expected CLs (median)")
        .legend(|(x, y)| DashedPathElement::new(vec![(x, y), (x + 22, y)], 6, 4, BLACK.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(scan.iter().map(|p| (p.mu, p.cls_obs)), BLACK.stroke_width(2)))
        .map_err(de)?
        .label("Observed CLs")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], BLACK.stroke_width(2)));
    chart.draw_series(scan.iter().map(|p| Circle::new((p.mu, p.cls_obs), 3, BLACK.filled()))).map_err(de)?;
    chart
        .draw_series(LineSeries::new([(mu0, alpha), (mu1, alpha)], ALPHA_LINE.stroke_width(2)))
        .map_err(de)?
        .label(format!("CLs = {alpha}"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], ALPHA_LINE.stroke_width(2)));

    // The limits: where the curves cross alpha, marked down to the axis.
    if let Some(obs) = ul.obs.filter(|v| (mu0..=mu1).contains(v)) {
        chart
            .draw_series(LineSeries::new([(obs, 0.0), (obs, alpha)], ALPHA_LINE.stroke_width(2)))
            .map_err(de)?
            .label(format!("Observed limit μ = {obs:.3}"))
            .legend(|(x, y)| Circle::new((x + 11, y), 5, ALPHA_LINE.filled()));
        chart.draw_series(std::iter::once(Circle::new((obs, alpha), 5, ALPHA_LINE.filled()))).map_err(de)?;
    }
    if let Some(exp) = ul.exp[2].filter(|v| (mu0..=mu1).contains(v)) {
        chart
            .draw_series(DashedLineSeries::new([(exp, 0.0), (exp, alpha)], 5, 3, BLACK.stroke_width(2)))
            .map_err(de)?
            .label(format!("Expected limit μ = {exp:.3}"))
            .legend(|(x, y)| Circle::new((x + 11, y), 5, BLACK.stroke_width(2)));
        chart.draw_series(std::iter::once(Circle::new((exp, alpha), 5, BLACK.stroke_width(2)))).map_err(de)?;
    }

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .margin(12)
        .legend_area_size(30)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font((FONT, 15))
        .draw()
        .map_err(de)
}
