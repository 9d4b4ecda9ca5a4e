//! The correlation matrix as a heat map: blue for -1, white for 0, red for +1, the values
//! written in the cells when there are few; parameters numbered along the bottom, named on the
//! left.
use std::path::Path;

use anyhow::{Result, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT, FigureOptions, de, render_figure};
use fitfleet_engine::infer::diagnostics::Correlations;

/// Cells are written in up to this many parameters.
const WRITTEN: usize = 20;

/// The colour of correlation `r`: white to red (positive) or to blue (negative).
pub fn diverging(r: f64) -> RGBColor {
    let t = r.clamp(-1.0, 1.0);
    let fade = |full: u8, t: f64| (255.0 - (255.0 - f64::from(full)) * t).round() as u8;
    if t >= 0.0 {
        RGBColor(fade(200, t), fade(30, t), fade(30, t))
    } else {
        RGBColor(fade(30, -t), fade(70, -t), fade(200, -t))
    }
}

/// Draw the heat map of `c` into `out`.
pub fn plot(c: &Correlations, out: &Path, opts: &FigureOptions) -> Result<()> {
    if c.names.is_empty() {
        bail!("no parameter to draw correlations of (lower --threshold)");
    }
    let n = c.names.len() as u32;
    let longest = c.names.iter().map(|s| s.chars().count()).max().unwrap_or(0) as u32;
    let names_width = ((longest + 5) * 8 + 20).clamp(100, opts.width / 2);
    let cell = ((opts.width.saturating_sub(names_width + 160)) / n).clamp(4, 40);
    let height = (n * cell + 190).max(400);
    render_figure(
        out,
        opts.width,
        height,
        |root| draw(root, c, opts, names_width),
        |root| draw(root, c, opts, names_width),
    )
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &Correlations,
    opts: &FigureOptions,
    names_width: u32,
) -> Result<()> {
    root.fill(&WHITE).map_err(de)?;
    let title = opts.title.clone().unwrap_or_else(|| "Correlations of the fitted parameters".to_string());
    let area = root.titled(&title, (FONT, 24)).map_err(de)?;
    let (main, bar) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(110));
    let n = c.names.len();
    let mut chart = ChartBuilder::on(&main)
        .margin(20)
        .margin_top(if opts.label.is_some() { 36 } else { 8 })
        .x_label_area_size(40)
        .y_label_area_size(names_width)
        .build_cartesian_2d(0f64..n as f64, 0f64..n as f64)
        .map_err(de)?;
    chart.configure_mesh().disable_mesh().disable_x_axis().disable_y_axis().draw().map_err(de)?;
    // Row i (the first at the top) and column j.
    let top = |i: usize| (n - i) as f64;
    for (i, row) in c.matrix.iter().enumerate() {
        for (j, &r) in row.iter().enumerate() {
            let colour = if r.is_finite() { diverging(r) } else { RGBColor(160, 160, 160) };
            chart
                .draw_series([Rectangle::new([(j as f64, top(i)), (j as f64 + 1.0, top(i) - 1.0)], colour.filled())])
                .map_err(de)?;
            if n <= WRITTEN {
                let style = TextStyle::from((FONT, 12))
                    .color(if r.abs() > 0.6 { &WHITE } else { &BLACK })
                    .pos(Pos::new(HPos::Center, VPos::Center));
                chart.draw_series([Text::new(format!("{r:.2}"), (j as f64 + 0.5, top(i) - 0.5), style)]).map_err(de)?;
            }
        }
    }
    let label_size = if n <= 60 { 13 } else { 9 };
    for (i, name) in c.names.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(0.0, top(i) - 0.5));
        let style = TextStyle::from((FONT, label_size)).color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw_text(&format!("{name}  {i}"), &style, (px - 6, py)).map_err(de)?;
        if n <= 60 || i % 5 == 0 {
            let (qx, qy) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            let style = TextStyle::from((FONT, label_size)).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
            root.draw_text(&i.to_string(), &style, (qx, qy + 6)).map_err(de)?;
        }
    }
    if let Some(label) = &opts.label {
        area.draw_text(label, &TextStyle::from((FONT, 20)).color(&BLACK), (names_width as i32 + 32, 8)).map_err(de)?;
    }
    // The colour bar, -1 at the bottom, +1 at the top.
    let mut scale = ChartBuilder::on(&bar)
        .margin(20)
        .margin_top(if opts.label.is_some() { 36 } else { 8 })
        .margin_right(45)
        .x_label_area_size(40)
        .build_cartesian_2d(0f64..1.0, -1f64..1.0)
        .map_err(de)?;
    let steps = 100;
    for k in 0..steps {
        let lo = -1.0 + 2.0 * k as f64 / steps as f64;
        let hi = lo + 2.0 / steps as f64;
        scale.draw_series([Rectangle::new([(0.0, lo), (1.0, hi)], diverging((lo + hi) / 2.0).filled())]).map_err(de)?;
    }
    for v in [-1.0, -0.5, 0.0, 0.5, 1.0] {
        let (px, py) = scale.backend_coord(&(1.0, v));
        let style = TextStyle::from((FONT, 13)).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw_text(&format!("{v}"), &style, (px + 5, py)).map_err(de)?;
    }
    Ok(())
}
