//! The exclusion-contour figure: grid points coloured by observed CLs (with a colour bar), the
//! ±1σ band of the expected contour, the expected (dashed) and observed contours, failed
//! points as crosses, a legend and a line of metadata under the title.
use anyhow::Result;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::colour::ColourScale;
use super::levelset::bounds;
use super::{Contours, FONT, PlotOptions, de, house_mesh, tick};

pub const OBSERVED: RGBColor = RGBColor(200, 0, 0);
pub const EXPECTED: RGBColor = RGBColor(0, 0, 0);
pub const BAND: RGBColor = RGBColor(255, 215, 0);
const BAND_EDGE: RGBColor = RGBColor(215, 170, 0);
const FAILED: RGBColor = RGBColor(90, 90, 90);

/// The confidence level of a contour at CLs = alpha, in percent, as written on plots.
pub fn cl_percent(alpha: f64) -> String {
    let s = format!("{:.2}", 100.0 * (1.0 - alpha));
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Contours, opts: &PlotOptions) -> Result<()> {
    root.fill(&WHITE).map_err(de)?;
    let cl = cl_percent(c.level);
    let title = opts.title.clone().unwrap_or_else(|| format!("Exclusion at {cl}% CL"));
    let area = root.titled(&title, (FONT, 26)).map_err(de)?;

    // Metadata under the title: what was computed and how it is drawn.
    let failed = c.failed();
    let mut meta = format!(
        "{} points{} · contours at CLs = {} ({cl}% CL) · log10 CLs linear on a Delaunay triangulation{}",
        c.points.len(),
        if failed > 0 { format!(" ({failed} failed)") } else { String::new() },
        c.level,
        match c.smoothing {
            0 => String::new(),
            1 => ", smoothed by a local linear fit".to_string(),
            n => format!(", smoothed by {n} local linear fits"),
        },
    );
    for n in &c.notes {
        meta.push_str(" · ");
        meta.push_str(n);
    }
    let (meta_area, area) = area.split_vertically(30);
    meta_area.draw_text(&meta, &TextStyle::from((FONT, 15)).color(&BLACK.mix(0.75)), (20, 6)).map_err(de)?;

    let (w, _) = area.dim_in_pixel();
    let (main, bar) = area.split_horizontally(w.saturating_sub(130));
    let scale = ColourScale::for_values(c.points.iter().filter_map(|p| p.cls_obs));

    let (x0, x1, y0, y1) = bounds(&c.points.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
    let pad = |lo: f64, hi: f64| if hi > lo { 0.05 * (hi - lo) } else { 1.0f64.max(0.05 * lo.abs()) };
    let (px, py) = (pad(x0, x1), pad(y0, y1));
    let mut chart = ChartBuilder::on(&main)
        .margin(15)
        .margin_top(8)
        .x_label_area_size(55)
        .y_label_area_size(75)
        .build_cartesian_2d((x0 - px)..(x1 + px), (y0 - py)..(y1 + py))
        .map_err(de)?;
    let x_title = opts.x_title.clone().unwrap_or_else(|| super::axis_title(&c.x_label));
    let y_title = opts.y_title.clone().unwrap_or_else(|| super::axis_title(&c.y_label));
    house_mesh(
        chart
            .configure_mesh()
            .x_desc(x_title)
            .y_desc(y_title)
            .x_label_formatter(&|v: &f64| tick(*v))
            .y_label_formatter(&|v: &f64| tick(*v)),
    )
    .draw()
    .map_err(de)?;

    if let Some(label) = &opts.label {
        // Inside the plotting area's top-left corner, as experiments label their figures.
        main.draw_text(label, &TextStyle::from((FONT, 20)).color(&BLACK), (75 + 15 + 12, 8 + 10)).map_err(de)?;
    }

    // The band first, so that lines and points are drawn over it.
    if !c.band.fill.is_empty() {
        chart
            .draw_series(c.band.fill.iter().map(|p| Polygon::new(p.clone(), BAND.mix(0.6).filled())))
            .map_err(de)?
            .label("Expected ±1σ")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 22, y + 6)], BAND.mix(0.6).filled()));
        for line in c.band.minus_1sigma.iter().chain(&c.band.plus_1sigma) {
            chart.draw_series(LineSeries::new(line.iter().copied(), BAND_EDGE.stroke_width(1))).map_err(de)?;
        }
    }

    let with_obs: Vec<_> = c.points.iter().filter(|p| p.cls_obs.is_some()).collect();
    if !with_obs.is_empty() {
        let mid = scale.colour(0.1);
        chart
            .draw_series(with_obs.iter().map(|p| {
                let colour = scale.colour(p.cls_obs.unwrap_or(1.0));
                EmptyElement::at((p.x, p.y))
                    + Circle::new((0, 0), 6, colour.filled())
                    + Circle::new((0, 0), 6, BLACK.mix(0.6).stroke_width(1))
            }))
            .map_err(de)?
            .label("Signal points (colour: observed CLs)")
            .legend(move |(x, y)| Circle::new((x + 11, y), 6, mid.filled()));
    }
    // Points with an expected CLs but no observed one (blinded results): hollow.
    let exp_only: Vec<_> = c.points.iter().filter(|p| p.cls_obs.is_none() && p.cls_exp.is_some()).collect();
    if !exp_only.is_empty() {
        chart
            .draw_series(exp_only.iter().map(|p| Circle::new((p.x, p.y), 6, BLACK.stroke_width(1))))
            .map_err(de)?
            .label("Points without observed CLs")
            .legend(|(x, y)| Circle::new((x + 11, y), 6, BLACK.stroke_width(1)));
    }
    if failed > 0 {
        chart
            .draw_series(
                c.points.iter().filter(|p| p.failed).map(|p| Cross::new((p.x, p.y), 6, FAILED.stroke_width(2))),
            )
            .map_err(de)?
            .label(format!("Failed ({failed})"))
            .legend(|(x, y)| Cross::new((x + 11, y), 6, FAILED.stroke_width(2)));
    }

    for (k, line) in c.expected.iter().enumerate() {
        let s = chart
            .draw_series(DashedLineSeries::new(line.iter().copied(), 12, 7, EXPECTED.stroke_width(3)))
            .map_err(de)?;
        if k == 0 {
            s.label(format!("Expected limit ({cl}% CL)"))
                .legend(|(x, y)| DashedPathElement::new(vec![(x, y), (x + 22, y)], 6, 4, EXPECTED.stroke_width(3)));
        }
    }
    for (k, line) in c.observed.iter().enumerate() {
        let s = chart.draw_series(LineSeries::new(line.iter().copied(), OBSERVED.stroke_width(3))).map_err(de)?;
        if k == 0 {
            s.label(format!("Observed limit ({cl}% CL)"))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], OBSERVED.stroke_width(3)));
        }
    }

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .margin(12)
        .legend_area_size(30)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font((FONT, 15))
        .draw()
        .map_err(de)?;

    scale.draw_bar(&bar, "Observed CLs", c.level)
}

#[cfg(test)]
mod tests {
    use super::cl_percent;

    #[test]
    fn confidence_levels_are_written_as_analysts_do() {
        assert_eq!(cl_percent(0.05), "95");
        assert_eq!(cl_percent(0.1), "90");
        assert_eq!(cl_percent(0.003), "99.7");
    }
}
