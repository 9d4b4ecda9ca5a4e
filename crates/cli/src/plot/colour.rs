//! The colour scale of the grid points: CLs on a log scale, through the viridis palette (dark
//! blue-purple for strongly excluded points, yellow for CLs near 1), and its colour bar.
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT, de};

/// matplotlib's viridis at ten evenly spaced points; colours in between are interpolated.
const VIRIDIS: [(u8, u8, u8); 10] = [
    (0x44, 0x01, 0x54),
    (0x48, 0x28, 0x78),
    (0x3e, 0x49, 0x89),
    (0x31, 0x68, 0x8e),
    (0x26, 0x82, 0x8e),
    (0x1f, 0x9e, 0x89),
    (0x35, 0xb7, 0x79),
    (0x6e, 0xce, 0x58),
    (0xb5, 0xde, 0x2b),
    (0xfd, 0xe7, 0x25),
];

/// Viridis at `t` in [0, 1] (clamped).
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let s = t * (VIRIDIS.len() - 1) as f64;
    let i = (s.floor() as usize).min(VIRIDIS.len() - 2);
    let f = s - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + f * (q as f64 - p as f64)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A log10 colour scale of CLs from `lo` to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColourScale {
    pub lo: f64,
}

impl ColourScale {
    /// From the smallest CLs shown, rounded down to a power of ten, between 1e-6 and 1e-2.
    pub fn for_values(values: impl IntoIterator<Item = f64>) -> ColourScale {
        let min = values.into_iter().filter(|v| v.is_finite() && *v > 0.0).fold(1.0f64, f64::min);
        let lo = 10f64.powf(min.log10().floor()).clamp(1e-6, 1e-2);
        ColourScale { lo }
    }

    /// Position of a CLs value on the scale, 0 at `lo` (and below) to 1 at CLs = 1.
    pub fn position(&self, cls: f64) -> f64 {
        let v = cls.max(self.lo).min(1.0);
        (v.log10() - self.lo.log10()) / -self.lo.log10()
    }

    pub fn colour(&self, cls: f64) -> RGBColor {
        viridis(self.position(cls))
    }

    /// Draw the scale as a vertical bar with its ticks on the right, a line at `level`.
    pub fn draw_bar<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, caption: &str, level: f64) -> Result<()> {
        let mut chart = ChartBuilder::on(area)
            .margin_top(20)
            .margin_bottom(62)
            .margin_left(8)
            .margin_right(10)
            .right_y_label_area_size(62)
            .build_cartesian_2d(0f64..1f64, (self.lo..1f64).log_scale())
            .map_err(de)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .disable_x_axis()
            .y_desc(caption)
            .y_label_formatter(&|v: &f64| tick_label(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(de)?;
        let n = 120;
        let decades = -self.lo.log10();
        let at = |k: usize| self.lo * 10f64.powf(decades * k as f64 / n as f64);
        chart
            .draw_series((0..n).map(|k| {
                let mid = (at(k) * at(k + 1)).sqrt();
                Rectangle::new([(0.0, at(k)), (1.0, at(k + 1))], self.colour(mid).filled())
            }))
            .map_err(de)?;
        chart
            .draw_series(std::iter::once(Rectangle::new([(0.0, self.lo), (1.0, 1.0)], BLACK.stroke_width(1))))
            .map_err(de)?;
        if level > self.lo && level < 1.0 {
            chart.draw_series(LineSeries::new([(0.0, level), (1.0, level)], RED.stroke_width(3))).map_err(de)?;
        }
        Ok(())
    }
}

/// 1, 0.1, 0.01, 1e-3, ... as analysts write them.
fn tick_label(v: f64) -> String {
    if v >= 0.01 {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("1e{}", v.log10().round() as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_runs_from_purple_to_yellow_in_log_cls() {
        let s = ColourScale::for_values([0.3, 2e-4, 0.9]);
        assert_eq!(s.lo, 1e-4);
        assert_eq!(s.position(1e-4), 0.0);
        assert_eq!(s.position(1e-7), 0.0);
        assert!((s.position(1e-2) - 0.5).abs() < 1e-12);
        assert_eq!(s.position(1.0), 1.0);
        assert_eq!(s.colour(1e-4), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(s.colour(1.0), RGBColor(0xfd, 0xe7, 0x25));
        assert_eq!(ColourScale::for_values([0.5]).lo, 1e-2);
        assert_eq!(ColourScale::for_values([1e-30, 0.5]).lo, 1e-6);
        assert_eq!(ColourScale::for_values([f64::NAN]).lo, 1e-2);
    }

    #[test]
    fn ticks_are_written_plainly() {
        assert_eq!(tick_label(1.0), "1");
        assert_eq!(tick_label(0.1), "0.1");
        assert_eq!(tick_label(0.01), "0.01");
        assert_eq!(tick_label(0.001), "1e-3");
    }
}
