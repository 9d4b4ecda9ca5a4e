//! Plots of a results document ([`crate::results::ResultsDoc`]): the exclusion contour over a
//! grid of signal points, and the Brazil band of an upper-limit scan. PNG or SVG, chosen by the
//! output file's extension.
//!
//! # The exclusion contour
//!
//! Each signal point (a patch) sits at its two mass values (`mass_hypotheses`, named by the
//! patchset's `labels`: the first two labels are the x and y axes unless others are asked for)
//! and carries observed and expected CLs at mu = 1. A point is excluded at 95% CL where
//! CLs < alpha = 0.05. Between the points the CLs surface is interpolated the way analysts'
//! contour tools do:
//!
//! 1. the points are triangulated (Delaunay, with the `delaunator` crate) after scaling each axis
//!    to [0, 1], so that grids with different steps in the two masses get well-shaped triangles;
//!    triangles on the outside of the triangulation with a very long outside edge (more than
//!    three times the median edge) are peeled off so that concave grids are not bridged;
//! 2. on each triangle, log10(CLs) is interpolated linearly between its three corners (CLs
//!    falls roughly exponentially with the signal cross-section, so its logarithm is much closer
//!    to linear in the masses than CLs itself; CLs below 1e-10 counts as 1e-10);
//! 3. the contour is the level set log10(CLs) = log10(alpha), traced triangle by triangle
//!    (marching triangles: one straight segment per crossed triangle) and joined into
//!    polylines. The observed contour uses `CLs_obs`, the expected one the median of
//!    `CLs_exp`, and the ±1σ band is the region where the -1σ expected CLs (`CLs_exp[1]`) is
//!    below alpha but the +1σ one (`CLs_exp[3]`) is not, cut exactly out of each triangle.
//!
//! By default the figure's contours are smoothed (`--smoothing`, [`smoothing`]): before step 3
//! each point's log10 CLs is replaced by the local linear fit over its neighbours (a field linear
//! in the masses is unchanged; a single point off its neighbours' trend no longer grows a finger
//! of the contour around itself), and the observed and expected lines get their corners cut.
//! `--smoothing 0` draws the exact level sets of the computed points.
//!
//! The contour passes through no region without points: it ends where the triangulation ends.
//! Points that failed, or lack CLs, are left out of the triangulation (the contour is drawn from
//! the others) and drawn as crosses. HistFitter's `harvestToContours.py` instead fits radial
//! basis functions to the significance over a fine grid; its curves are smoother but may pass
//! where no point supports them. See `docs/plots.md`.
//!
//! # The Brazil band
//!
//! For an upper-limit task run with a scan (`upper_limit.scan`): observed CLs against mu, the
//! expected median (dashed) with its ±1σ (green) and ±2σ (yellow) bands, the line CLs = alpha,
//! and the observed and expected limits.
pub mod brazil;
pub mod colour;
pub mod contour;
pub mod correlations;
pub mod levelset;
pub mod pulls;
pub mod ranking;
pub mod scan;
pub mod smoothing;

use std::path::Path;
use std::sync::Once;

use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::results::{Entry, ResultsDoc};
pub use levelset::{Point, Polyline, Triangulation};

/// The font family every text of the plots uses: DejaVu Sans, shipped in `client/assets/fonts`
/// and compiled in, so that PNGs need no system fonts.
pub(crate) const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse: a failure here is a broken build.
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .unwrap_or_else(|_| panic!("the shipped DejaVu Sans font does not parse"));
    });
}

/// A drawing error as an `anyhow` error.
pub(crate) fn de<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing the plot: {e}")
}

/// The house style of a chart's mesh: the fonts of tick labels and axis titles, faint grid lines.
pub(crate) fn house_mesh<'m, 'a, 'b, X, Y, XT, YT, DB>(
    mesh: &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    X: plotters::coord::ranged1d::Ranged<ValueType = XT> + plotters::coord::ranged1d::ValueFormatter<XT>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = YT> + plotters::coord::ranged1d::ValueFormatter<YT>,
    DB: DrawingBackend,
{
    mesh.label_style((FONT, 15))
        .axis_desc_style((FONT, 18))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.04))
}

/// An axis tick as written by hand: 400, 2.5, 0.125 (not 400.0).
pub(crate) fn tick(v: f64) -> String {
    if v == v.round() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// CLs values below this count as this on the log scale.
pub const CLS_FLOOR: f64 = 1e-10;

/// What to plot and how.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// The title; a default that says what is shown when `None`.
    pub title: Option<String>,
    /// Image size in pixels (SVG: user units).
    pub width: u32,
    pub height: u32,
    /// The labels (of the patchset's `labels`) on the x and y axes of a contour; the first two
    /// when `None`.
    pub x: Option<String>,
    pub y: Option<String>,
    /// Contours are drawn at CLs = alpha.
    pub alpha: f64,
    /// The entry whose upper-limit scan a Brazil plot shows.
    pub patch: Option<String>,
    /// Which plot; when `None`, a contour if any entry has CLs, else the Brazil band of the only
    /// entry with a scan.
    pub kind: Option<PlotKind>,
    /// The axis titles of a contour; by default the label, with ` [GeV]` for a mass ([`axis_title`]).
    pub x_title: Option<String>,
    pub y_title: Option<String>,
    /// A line in the top-left corner of the plot: the experiment, energy and luminosity.
    pub label: Option<String>,
    /// Passes of local linear smoothing of log10 CLs before contours are traced (0: the exact
    /// level sets of the computed points); see [`smoothing`].
    pub smoothing: usize,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            title: None,
            width: 1100,
            height: 800,
            x: None,
            y: None,
            alpha: 0.05,
            patch: None,
            kind: None,
            x_title: None,
            y_title: None,
            label: None,
            smoothing: 1,
        }
    }
}

/// How a diagnostic's figure (pulls, correlations) is drawn: its height follows the number of
/// parameters shown.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureOptions {
    pub title: Option<String>,
    /// A line in the top-left corner: the experiment, energy and luminosity.
    pub label: Option<String>,
    pub width: u32,
}

impl From<&crate::args::DiagnosticsPlotArgs> for FigureOptions {
    fn from(a: &crate::args::DiagnosticsPlotArgs) -> Self {
        FigureOptions { title: a.title.clone(), label: a.label.clone(), width: a.width }
    }
}

/// Draw a figure of `height` pixels into `out` (`.png` or `.svg`) with `draw`, called with
/// the backend the extension names.
pub(crate) fn render_figure(
    out: &Path,
    width: u32,
    height: u32,
    png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
    svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    render(out, &PlotOptions { width, height, ..PlotOptions::default() }, png, svg)
}

/// The axis title of a patchset label: a mass (`m1`, `mC1`, `m_N1`, `mass`: a short label that
/// starts with `m`) gets its unit, `m1 [GeV]`; other labels are shown as they are.
pub fn axis_title(label: &str) -> String {
    let mass = label.starts_with('m') && label.chars().count() <= 8 && !label.contains('[') && !label.contains(' ');
    if mass { format!("{label} [GeV]") } else { label.to_string() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlotKind {
    /// Exclusion contour over two mass labels.
    Contour,
    /// Upper-limit scan with expected bands.
    Brazil,
}

/// One signal point of the document.
#[derive(Debug, Clone, PartialEq)]
pub struct GridPoint {
    /// Its key in the document (the patch name).
    pub name: String,
    pub x: f64,
    pub y: f64,
    pub cls_obs: Option<f64>,
    pub cls_exp: Option<[f64; 5]>,
    /// The task failed (or its CLs are not numbers): drawn as a cross, left out of the contours.
    pub failed: bool,
}

/// The ±1σ band of the expected contour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Band {
    /// Where the -1σ expected CLs (`CLs_exp[1]`, HistFitter's `clsd1s`) equals alpha: the
    /// outer edge of the band (more is excluded).
    pub minus_1sigma: Vec<Polyline>,
    /// Where the +1σ expected CLs (`CLs_exp[3]`, `clsu1s`) equals alpha: the inner edge.
    pub plus_1sigma: Vec<Polyline>,
    /// The band itself: convex pieces of triangles, to fill.
    pub fill: Vec<Vec<Point>>,
}

/// The contours of a document and the points they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Contours {
    /// The axis labels (names from the patchset's labels).
    pub x_label: String,
    pub y_label: String,
    /// The CLs level of the contours (alpha).
    pub level: f64,
    /// Every entry with two numeric coordinates, in document order.
    pub points: Vec<GridPoint>,
    /// CLs_obs = alpha.
    pub observed: Vec<Polyline>,
    /// Median CLs_exp = alpha.
    pub expected: Vec<Polyline>,
    pub band: Band,
    /// What could not be drawn and why.
    pub notes: Vec<String>,
    /// Passes of smoothing applied ([`PlotOptions::smoothing`]).
    pub smoothing: usize,
}

impl Contours {
    pub fn failed(&self) -> usize {
        self.points.iter().filter(|p| p.failed).count()
    }
}

/// The contours at CLs = 0.05 over the first two labels.
pub fn contours(doc: &ResultsDoc) -> Result<Contours> {
    contours_with(doc, &PlotOptions::default())
}

/// The contours at CLs = `opts.alpha` over the labels `opts.x` and `opts.y`.
pub fn contours_with(doc: &ResultsDoc, opts: &PlotOptions) -> Result<Contours> {
    let labels: Vec<String> = doc.values().find(|e| !e.labels.is_empty()).map(|e| e.labels.clone()).unwrap_or_default();
    let width = doc.values().map(|e| e.mass_hypotheses.len()).max().unwrap_or(0);
    if width < 2 {
        bail!("no entry has two mass values (mass_hypotheses) to plot a contour over");
    }
    let axis = |want: &Option<String>, default: usize| -> Result<(usize, String)> {
        match want {
            None => {
                Ok((default, labels.get(default).cloned().unwrap_or_else(|| format!("mass_hypotheses[{default}]"))))
            }
            Some(name) => labels
                .iter()
                .position(|l| l == name)
                .map(|i| (i, name.clone()))
                .ok_or_else(|| anyhow!("no label {name:?} in the document (labels: {})", labels.join(", "))),
        }
    };
    let (ix, x_label) = axis(&opts.x, 0)?;
    let (iy, y_label) = axis(&opts.y, 1)?;
    if ix == iy {
        bail!("the x and y axes are both {x_label}");
    }
    if !(opts.alpha > 0.0 && opts.alpha < 1.0) {
        bail!("alpha must lie in (0, 1), got {}", opts.alpha);
    }
    let mut points = Vec::new();
    for (name, e) in doc {
        let m = e.masses();
        let (Some(Some(x)), Some(Some(y))) = (m.get(ix), m.get(iy)) else { continue };
        let ok = e.status == "succeeded";
        let cls_obs = e.cls_obs.filter(|v| ok && v.is_finite());
        let cls_exp = e.cls_exp.filter(|v| ok && v.iter().all(|c| c.is_finite()));
        let failed = cls_obs.is_none() && cls_exp.is_none();
        // A succeeded task of another kind (a fit, a limit) is no point of the contour.
        if failed && ok && e.cls_obs.is_none() && e.cls_exp.is_none() {
            continue;
        }
        points.push(GridPoint { name: name.clone(), x: *x, y: *y, cls_obs, cls_exp, failed });
    }
    if points.is_empty() {
        bail!("no entry has numeric values for {x_label} and {y_label}");
    }
    let level = opts.alpha.log10();
    let log = |c: f64| c.max(CLS_FLOOR).log10();
    let mut notes = Vec::new();

    let with_obs: Vec<&GridPoint> = points.iter().filter(|p| p.cls_obs.is_some()).collect();
    let tri = Triangulation::new(&with_obs.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
    let obs: Vec<f64> = tri.source.iter().map(|&i| log(with_obs[i].cls_obs.unwrap_or(f64::NAN))).collect();
    let smooth = |f: Vec<f64>, tri: &Triangulation| smoothing::local_linear(tri, &f, opts.smoothing);
    let cut = |lines: Vec<Polyline>| -> Vec<Polyline> {
        let passes = if opts.smoothing > 0 { smoothing::CHAIKIN_PASSES } else { 0 };
        lines.iter().map(|l| smoothing::chaikin(l, passes)).collect()
    };
    let observed = cut(tri.level_lines(&smooth(obs, &tri), level));
    if tri.triangles.is_empty() {
        notes.push(format!("{} points with observed CLs: too few for a contour", with_obs.len()));
    }

    let with_exp: Vec<&GridPoint> = points.iter().filter(|p| p.cls_exp.is_some()).collect();
    let tri = Triangulation::new(&with_exp.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
    let exp = |k: usize| -> Vec<f64> {
        tri.source.iter().map(|&i| log(with_exp[i].cls_exp.map_or(f64::NAN, |c| c[k]))).collect()
    };
    let (d1, med, u1) = (smooth(exp(1), &tri), smooth(exp(2), &tri), smooth(exp(3), &tri));
    let expected = cut(tri.level_lines(&med, level));
    let band = Band {
        minus_1sigma: tri.level_lines(&d1, level),
        plus_1sigma: tri.level_lines(&u1, level),
        fill: tri.band(&d1, &u1, level),
    };
    if tri.triangles.is_empty() {
        notes.push(format!("{} points with expected CLs: too few for a contour", with_exp.len()));
    }
    Ok(Contours {
        x_label,
        y_label,
        level: opts.alpha,
        points,
        observed,
        expected,
        band,
        notes,
        smoothing: opts.smoothing,
    })
}

/// Draw the exclusion contour of `doc` into `out` (`.png` or `.svg`); returns the contours drawn.
pub fn contour(doc: &ResultsDoc, out: &Path, opts: &PlotOptions) -> Result<Contours> {
    let c = contours_with(doc, opts)?;
    render(out, opts, |root| contour::draw(root, &c, opts), |root| contour::draw(root, &c, opts))?;
    Ok(c)
}

/// Draw the Brazil band of the upper-limit scan of entry `opts.patch` (or of the only entry with
/// a scan) into `out`; returns the name of the entry drawn.
pub fn brazil(doc: &ResultsDoc, out: &Path, opts: &PlotOptions) -> Result<String> {
    let (name, entry) = scan_entry(doc, opts.patch.as_deref())?;
    render(out, opts, |root| brazil::draw(root, name, entry, opts), |root| brazil::draw(root, name, entry, opts))?;
    Ok(name.to_string())
}

/// What [`plot`] drew.
#[derive(Debug, Clone, PartialEq)]
pub enum Drawn {
    Contour(Box<Contours>),
    /// The Brazil band of this entry.
    Brazil(String),
}

/// Draw what the document holds (see [`PlotOptions::kind`]) into `out`.
pub fn plot(doc: &ResultsDoc, out: &Path, opts: &PlotOptions) -> Result<Drawn> {
    let kind = match opts.kind {
        Some(k) => k,
        None if opts.patch.is_some() => PlotKind::Brazil,
        None if doc.values().any(|e| e.cls_obs.is_some() || e.cls_exp.is_some()) => PlotKind::Contour,
        None if doc.values().any(has_scan) => PlotKind::Brazil,
        None => bail!(
            "nothing to plot: no entry has CLs (for a contour) or an upper-limit scan (for a Brazil band; run upper-limit tasks with a scan)"
        ),
    };
    match kind {
        PlotKind::Contour => contour(doc, out, opts).map(|c| Drawn::Contour(Box::new(c))),
        PlotKind::Brazil => brazil(doc, out, opts).map(Drawn::Brazil),
    }
}

fn has_scan(e: &Entry) -> bool {
    e.upper_limit.as_ref().and_then(|u| u.scan.as_ref()).is_some_and(|s| !s.is_empty())
}

/// The entry named `patch`, or the only entry with an upper-limit scan.
fn scan_entry<'a>(doc: &'a ResultsDoc, patch: Option<&str>) -> Result<(&'a str, &'a Entry)> {
    match patch {
        Some(p) => {
            let (name, e) = doc.get_key_value(p).ok_or_else(|| anyhow!("no entry {p:?} in the results"))?;
            if !has_scan(e) {
                bail!(
                    "entry {p:?} has no upper-limit scan to draw (status {}{})",
                    e.status,
                    e.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
                );
            }
            Ok((name, e))
        }
        None => {
            let with: Vec<(&String, &Entry)> = doc.iter().filter(|(_, e)| has_scan(e)).collect();
            match with[..] {
                [(n, e)] => Ok((n, e)),
                [] => bail!("no entry has an upper-limit scan"),
                _ => {
                    let names: Vec<&str> = with.iter().take(5).map(|(n, _)| n.as_str()).collect();
                    bail!(
                        "{} entries have upper-limit scans: choose one with --patch ({}{})",
                        with.len(),
                        names.join(", "),
                        if with.len() > 5 { ", ..." } else { "" }
                    )
                }
            }
        }
    }
}

/// Open `out` with the backend its extension names and draw with the matching function.
fn render(
    out: &Path,
    opts: &PlotOptions,
    png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
    svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    register_font();
    let size = (opts.width, opts.height);
    if size.0 < 300 || size.1 < 250 {
        bail!("a plot needs at least 300x250 pixels, got {}x{}", size.0, size.1);
    }
    let ext = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => {
            let root = BitMapBackend::new(out, size).into_drawing_area();
            png(&root)?;
            root.present().map_err(de).with_context(|| format!("writing {}", out.display()))
        }
        Some("svg") => {
            let root = SVGBackend::new(out, size).into_drawing_area();
            svg(&root)?;
            root.present().map_err(de).with_context(|| format!("writing {}", out.display()))
        }
        _ => bail!("{}: the plot's file name must end in .png or .svg", out.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::axis_title;

    #[test]
    fn mass_labels_get_their_unit_and_others_stay() {
        assert_eq!(axis_title("m1"), "m1 [GeV]");
        assert_eq!(axis_title("mC1"), "mC1 [GeV]");
        assert_eq!(axis_title("m_N1"), "m_N1 [GeV]");
        assert_eq!(axis_title("m1 [TeV]"), "m1 [TeV]");
        assert_eq!(axis_title("tanbeta"), "tanbeta");
        assert_eq!(axis_title("mass of the stop quark"), "mass of the stop quark");
    }
}
