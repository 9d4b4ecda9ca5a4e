//! The pulls figure, as analysts draw it (cabinetry's `pulls`): one row per constrained nuisance
//! parameter, the pull (theta_hat - theta_0) / sigma_prefit as a dot with a horizontal bar of
//! the constraint sigma_post / sigma_prefit, over the ±1 (green) and ±2 (yellow) bands.
use std::path::Path;

use anyhow::{Result, bail};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::brazil::{GREEN, YELLOW};
use super::{FONT, FigureOptions, de, house_mesh, render_figure, tick};
use fitfleet_engine::infer::diagnostics::Pull;

/// Pixels per parameter row.
const ROW: u32 = 22;

/// Draw the pulls of `rows` (those with a pull) into `out`.
pub fn plot(rows: &[Pull], out: &Path, opts: &FigureOptions) -> Result<()> {
    let rows: Vec<&Pull> = rows.iter().filter(|r| r.pull.is_some_and(f64::is_finite)).collect();
    if rows.is_empty() {
        bail!("no constrained nuisance parameter to draw pulls of");
    }
    let height = (170 + ROW * rows.len() as u32).max(400);
    render_figure(out, opts.width, height, |root| draw(root, &rows, opts), |root| draw(root, &rows, opts))
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Pull], opts: &FigureOptions) -> Result<()> {
    root.fill(&WHITE).map_err(de)?;
    let title = opts.title.clone().unwrap_or_else(|| "Pulls of the nuisance parameters".to_string());
    let area = root.titled(&title, (FONT, 24)).map_err(de)?;
    let n = rows.len();
    let reach = rows
        .iter()
        .map(|r| r.pull.unwrap_or(0.0).abs() + r.constraint.filter(|c| c.is_finite()).unwrap_or(0.0))
        .fold(3.0f64, f64::max)
        .min(10.0);
    let longest = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(0) as u32;
    let names_width = (longest * 8 + 20).clamp(80, opts.width / 2);
    let mut chart = ChartBuilder::on(&area)
        .margin(20)
        .margin_top(if opts.label.is_some() { 36 } else { 8 })
        .x_label_area_size(55)
        .y_label_area_size(names_width)
        .build_cartesian_2d(-reach..reach, -0.5f64..(n as f64 - 0.5))
        .map_err(de)?;
    house_mesh(
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_desc("(θ̂ − θ₀) / Δθ")
            .x_label_formatter(&|v: &f64| tick(*v)),
    )
    .draw()
    .map_err(de)?;
    let (y0, y1) = (-0.5, n as f64 - 0.5);
    chart.draw_series([Rectangle::new([(-2.0, y0), (2.0, y1)], YELLOW.mix(0.6).filled())]).map_err(de)?;
    chart.draw_series([Rectangle::new([(-1.0, y0), (1.0, y1)], GREEN.mix(0.6).filled())]).map_err(de)?;
    chart.draw_series([DashedPathElement::new(vec![(0.0, y0), (0.0, y1)], 6, 4, BLACK.mix(0.6))]).map_err(de)?;
    // The first parameter at the top.
    let y = |i: usize| (n - 1 - i) as f64;
    for (i, r) in rows.iter().enumerate() {
        let pull = r.pull.unwrap_or(0.0);
        if let Some(c) = r.constraint.filter(|c| c.is_finite()) {
            let bar = [(pull - c, y(i)), (pull + c, y(i))];
            chart.draw_series([PathElement::new(bar.to_vec(), BLACK.stroke_width(2))]).map_err(de)?;
        }
        chart.draw_series([Circle::new((pull, y(i)), 4, BLACK.filled())]).map_err(de)?;
        let (px, py) = chart.backend_coord(&(-reach, y(i)));
        let style = TextStyle::from((FONT, 14)).color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw_text(&r.name, &style, (px - 8, py)).map_err(de)?;
    }
    if let Some(label) = &opts.label {
        let (px, _) = chart.backend_coord(&(-reach, y1));
        area.draw_text(label, &TextStyle::from((FONT, 20)).color(&BLACK), (px - 20 + 12, 8)).map_err(de)?;
    }
    Ok(())
}
