//! The ranking figure, as analysts draw it (cabinetry's `ranking`): one row per parameter,
//! largest impact at the top; the post-fit impacts on the POI as filled bars (up: blue, down:
//! teal), the pre-fit impacts as outlined bars, on the bottom axis; the parameter's pull with
//! its constraint as a dot and bar on the top axis.
use std::path::Path;

use anyhow::{Result, bail};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT, FigureOptions, de, house_mesh, render_figure, tick};
use fitfleet_engine::infer::diagnostics::{Impact, Ranking};

/// Pixels per parameter row.
const ROW: u32 = 30;
const UP: RGBColor = RGBColor(49, 99, 189);
const DOWN: RGBColor = RGBColor(72, 190, 170);
/// The pulls' axis: -PULLS to +PULLS.
const PULLS: f64 = 2.0;

/// Draw `ranking`'s parameters (already cut to those shown) into `out`.
pub fn plot(ranking: &Ranking, out: &Path, opts: &FigureOptions) -> Result<()> {
    if ranking.impacts.is_empty() {
        bail!("no parameter to draw the ranking of");
    }
    let height = (200 + ROW * ranking.impacts.len() as u32).max(420);
    render_figure(out, opts.width, height, |root| draw(root, ranking, opts), |root| draw(root, ranking, opts))
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &Ranking, opts: &FigureOptions) -> Result<()> {
    root.fill(&WHITE).map_err(de)?;
    let title = opts.title.clone().unwrap_or_else(|| format!("Impact on {} of the nuisance parameters", r.poi));
    let area = root.titled(&title, (FONT, 24)).map_err(de)?;
    let rows: &[Impact] = &r.impacts;
    let n = rows.len();
    let finite = |v: f64| if v.is_finite() { v.abs() } else { 0.0 };
    let reach = rows
        .iter()
        .flat_map(|i| [i.postfit_up, i.postfit_down, i.prefit_up.unwrap_or(0.0), i.prefit_down.unwrap_or(0.0)])
        .map(finite)
        .fold(0.0f64, f64::max);
    let reach = if reach > 0.0 { reach * 1.15 } else { 1.0 };
    let longest = rows.iter().map(|i| i.parameter.chars().count()).max().unwrap_or(0) as u32;
    let names_width = (longest * 8 + 20).clamp(80, opts.width / 2);
    let (y0, y1) = (-0.5, n as f64 - 0.5);
    let mut chart = ChartBuilder::on(&area)
        .margin(20)
        .margin_top(36)
        .x_label_area_size(55)
        .top_x_label_area_size(55)
        .y_label_area_size(names_width)
        .build_cartesian_2d(-reach..reach, y0..y1)
        .map_err(de)?
        .set_secondary_coord(-PULLS..PULLS, y0..y1);
    house_mesh(
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_desc(format!("Δ{}", r.poi))
            .x_label_formatter(&|v: &f64| tick(*v)),
    )
    .draw()
    .map_err(de)?;
    chart
        .configure_secondary_axes()
        .x_desc("(θ̂ − θ₀) / Δθ")
        .x_label_formatter(&|v: &f64| tick(*v))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 18))
        .draw()
        .map_err(de)?;
    chart.draw_series([DashedPathElement::new(vec![(0.0, y0), (0.0, y1)], 6, 4, BLACK.mix(0.6))]).map_err(de)?;
    // The largest impact at the top.
    let y = |k: usize| (n - 1 - k) as f64;
    let bar = |v: f64, k: usize, h: f64| [(0.0, y(k) - h), (if v.is_finite() { v } else { 0.0 }, y(k) + h)];
    for (k, i) in rows.iter().enumerate() {
        for (v, colour) in [(i.postfit_up, UP), (i.postfit_down, DOWN)] {
            chart.draw_series([Rectangle::new(bar(v, k, 0.3), colour.mix(0.85).filled())]).map_err(de)?;
        }
        for (v, colour) in [(i.prefit_up, UP), (i.prefit_down, DOWN)] {
            if let Some(v) = v {
                chart.draw_series([Rectangle::new(bar(v, k, 0.3), colour.stroke_width(2))]).map_err(de)?;
            }
        }
        if let Some(pull) = i.pull.filter(|p| p.is_finite()) {
            let pull = pull.clamp(-PULLS, PULLS);
            if let Some(c) = i.constraint.filter(|c| c.is_finite()) {
                let line = vec![((pull - c).max(-PULLS), y(k)), ((pull + c).min(PULLS), y(k))];
                chart.draw_secondary_series([PathElement::new(line, BLACK.stroke_width(2))]).map_err(de)?;
            }
            chart.draw_secondary_series([Circle::new((pull, y(k)), 4, BLACK.filled())]).map_err(de)?;
        }
        let (px, py) = chart.backend_coord(&(-reach, y(k)));
        let style = TextStyle::from((FONT, 14)).color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw_text(&i.parameter, &style, (px - 8, py)).map_err(de)?;
    }
    legend(&area, chart.backend_coord(&(reach, y1)).0)?;
    if let Some(label) = &opts.label {
        let (px, _) = chart.backend_coord(&(-reach, y1));
        area.draw_text(label, &TextStyle::from((FONT, 20)).color(&BLACK), (px - 8, 8)).map_err(de)?;
    }
    Ok(())
}

/// The key above the top axis, on the label's line, ending at the plot's right end `right`.
fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, right: i32) -> Result<()> {
    let y = 8;
    let entries: [(&str, RGBColor, bool); 4] = [
        ("post-fit +1σ", UP, true),
        ("post-fit −1σ", DOWN, true),
        ("pre-fit +1σ", UP, false),
        ("pre-fit −1σ", DOWN, false),
    ];
    let style = TextStyle::from((FONT, 13)).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    let mut left = right - 4 * 120;
    for (text, colour, filled) in entries {
        let rect = [(left, y + 4), (left + 18, y + 16)];
        let shape = if filled { colour.mix(0.85).filled() } else { colour.stroke_width(2) };
        area.draw(&Rectangle::new(rect, shape)).map_err(de)?;
        area.draw_text(text, &style, (left + 24, y + 10)).map_err(de)?;
        left += 120;
    }
    Ok(())
}
