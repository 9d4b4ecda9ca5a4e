//! Triangulation of scattered signal points and level sets of a field linear on each triangle.
//!
//! * [`Triangulation::new`] makes the Delaunay triangulation (`delaunator`) of the points after
//!   scaling both axes to [0, 1], so that a grid with 25 GeV steps in one mass and 100 GeV steps
//!   in the other is triangulated as the analyst sees it on the plot. Duplicate points are
//!   dropped (the first is kept). Triangles on the outside of the triangulation whose longest
//!   edge is much longer than the grid's typical spacing are peeled off, so that a concave set of
//!   points (an L-shaped grid) is not bridged across its empty corner.
//! * [`Triangulation::level_lines`] finds where a field given at the points crosses a level: on
//!   each triangle the field is linear, so the crossing is a straight segment between two edges
//!   (marching triangles); segments sharing an edge are joined into polylines, open where they
//!   leave the triangulated area and closed where they loop.
//! * [`Triangulation::band`] cuts out of each triangle the part where one field is below the
//!   level and another above it (two half-planes on a triangle): the filled band between two
//!   contours, exact for the piecewise-linear fields and with no need to pair the curves.
use std::collections::HashMap;

/// A point of the plane, in data coordinates (masses).
pub type Point = (f64, f64);
/// A contour: a sequence of points; closed when the last point equals the first.
pub type Polyline = Vec<Point>;

/// A triangulation of scattered points.
#[derive(Debug, Clone)]
pub struct Triangulation {
    /// The points kept, in data coordinates.
    pub points: Vec<Point>,
    /// For each kept point, its index in the slice given to [`Triangulation::new`].
    pub source: Vec<usize>,
    /// Triangles as indices into `points`.
    pub triangles: Vec<[usize; 3]>,
}

/// How many times the median edge length an outside edge may be before its triangle is peeled.
const PEEL_FACTOR: f64 = 3.0;

impl Triangulation {
    /// The Delaunay triangulation of `points` (non-finite points are ignored). Fewer than three
    /// distinct points, or points all on one line, give no triangles.
    pub fn new(points: &[Point]) -> Triangulation {
        let mut kept: Vec<Point> = Vec::new();
        let mut source = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, &(x, y)) in points.iter().enumerate() {
            if !(x.is_finite() && y.is_finite()) {
                continue;
            }
            // -0.0 and 0.0 are the same point.
            if !seen.insert(((x + 0.0).to_bits(), (y + 0.0).to_bits())) {
                continue;
            }
            kept.push((x, y));
            source.push(i);
        }
        let mut t = Triangulation { points: kept, source, triangles: Vec::new() };
        if t.points.len() < 3 {
            return t;
        }
        let (x0, x1, y0, y1) = bounds(&t.points);
        let (sx, sy) = (x1 - x0, y1 - y0);
        if sx <= 0.0 || sy <= 0.0 {
            return t;
        }
        let scaled: Vec<delaunator::Point> =
            t.points.iter().map(|&(x, y)| delaunator::Point { x: (x - x0) / sx, y: (y - y0) / sy }).collect();
        let d = delaunator::triangulate(&scaled);
        t.triangles = d.triangles.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
        t.peel(&scaled);
        t
    }

    /// Remove, repeatedly, outside triangles whose outside edge is longer than [`PEEL_FACTOR`]
    /// times the median edge length (in the scaled coordinates).
    fn peel(&mut self, scaled: &[delaunator::Point]) {
        let len =
            |a: usize, b: usize| ((scaled[a].x - scaled[b].x).powi(2) + (scaled[a].y - scaled[b].y).powi(2)).sqrt();
        let mut edges: Vec<f64> = edge_counts(&self.triangles).keys().map(|&(a, b)| len(a, b)).collect();
        if edges.is_empty() {
            return;
        }
        edges.sort_by(f64::total_cmp);
        let limit = PEEL_FACTOR * edges[edges.len() / 2];
        loop {
            let counts = edge_counts(&self.triangles);
            let before = self.triangles.len();
            self.triangles.retain(|t| {
                (0..3).all(|k| {
                    let (a, b) = (t[k], t[(k + 1) % 3]);
                    counts[&key(a, b)] > 1 || len(a, b) <= limit
                })
            });
            if self.triangles.len() == before {
                break;
            }
        }
    }

    /// Where `values` (one per kept point, see [`Triangulation::source`]) equals `level`.
    /// Values that are not finite make their triangles drop out.
    pub fn level_lines(&self, values: &[f64], level: f64) -> Vec<Polyline> {
        // Each crossing is on an edge; a triangle joins the crossings on two of its edges.
        let mut at: HashMap<(usize, usize), Point> = HashMap::new();
        let mut links: HashMap<(usize, usize), Vec<(usize, usize)>> = HashMap::new();
        for t in &self.triangles {
            let f = [values[t[0]] - level, values[t[1]] - level, values[t[2]] - level];
            if f.iter().any(|v| !v.is_finite()) {
                continue;
            }
            let mut crossed = Vec::with_capacity(2);
            for k in 0..3 {
                let (i, j) = (k, (k + 1) % 3);
                // A value exactly at the level counts as above it: no degenerate crossings.
                if (f[i] >= 0.0) != (f[j] >= 0.0) {
                    let e = key(t[i], t[j]);
                    at.entry(e).or_insert_with(|| {
                        let (a, b) = (e.0, e.1);
                        let (fa, fb) = (values[a] - level, values[b] - level);
                        lerp(self.points[a], self.points[b], fa / (fa - fb))
                    });
                    crossed.push(e);
                }
            }
            if let [a, b] = crossed[..] {
                links.entry(a).or_default().push(b);
                links.entry(b).or_default().push(a);
            }
        }
        chain(&links, &at)
    }

    /// The pieces of the triangles where `below < level` and `above >= level` (both fields
    /// given at the kept points): convex polygons, in data coordinates.
    pub fn band(&self, below: &[f64], above: &[f64], level: f64) -> Vec<Vec<Point>> {
        let mut out = Vec::new();
        for t in &self.triangles {
            // Each vertex carries its position and both half-plane functions (kept where >= 0).
            let poly: Vec<[f64; 4]> =
                t.iter().map(|&i| [self.points[i].0, self.points[i].1, level - below[i], above[i] - level]).collect();
            if poly.iter().any(|v| v.iter().any(|c| !c.is_finite())) {
                continue;
            }
            let poly = clip(&clip(&poly, 2), 3);
            if poly.len() >= 3 {
                out.push(poly.iter().map(|v| (v[0], v[1])).collect());
            }
        }
        out
    }
}

/// Keep the part of a convex polygon where component `c` is non-negative (strictly positive
/// for the band's lower side: points on that contour itself have zero area).
fn clip(poly: &[[f64; 4]], c: usize) -> Vec<[f64; 4]> {
    let mut out = Vec::with_capacity(poly.len() + 1);
    for k in 0..poly.len() {
        let (p, q) = (poly[k], poly[(k + 1) % poly.len()]);
        let (inp, inq) = (p[c] >= 0.0, q[c] >= 0.0);
        if inp {
            out.push(p);
        }
        if inp != inq {
            let s = p[c] / (p[c] - q[c]);
            let mut v = [0.0; 4];
            for (m, vm) in v.iter_mut().enumerate() {
                *vm = p[m] + s * (q[m] - p[m]);
            }
            v[c] = 0.0;
            out.push(v);
        }
    }
    out
}

fn lerp(a: Point, b: Point, s: f64) -> Point {
    (a.0 + s * (b.0 - a.0), a.1 + s * (b.1 - a.1))
}

fn key(a: usize, b: usize) -> (usize, usize) {
    if a < b { (a, b) } else { (b, a) }
}

fn edge_counts(triangles: &[[usize; 3]]) -> HashMap<(usize, usize), usize> {
    let mut counts = HashMap::new();
    for t in triangles {
        for k in 0..3 {
            *counts.entry(key(t[k], t[(k + 1) % 3])).or_insert(0) += 1;
        }
    }
    counts
}

/// Join segments (pairs of crossed edges) into polylines: first the open ones, which start at
/// an edge with one neighbour (the border of the triangulation), then the closed loops.
fn chain(links: &HashMap<(usize, usize), Vec<(usize, usize)>>, at: &HashMap<(usize, usize), Point>) -> Vec<Polyline> {
    let mut starts: Vec<&(usize, usize)> = links.keys().collect();
    starts.sort();
    let mut seen: std::collections::HashSet<(usize, usize)> = std::collections::HashSet::new();
    let mut out = Vec::new();
    for pass in 0..2 {
        for &&s in &starts {
            if seen.contains(&s) || (pass == 0 && links[&s].len() != 1) {
                continue;
            }
            let mut line = vec![at[&s]];
            seen.insert(s);
            let (mut prev, mut cur) = (None, s);
            loop {
                let next = links[&cur].iter().copied().find(|n| Some(*n) != prev && !seen.contains(n));
                match next {
                    Some(n) => {
                        line.push(at[&n]);
                        seen.insert(n);
                        prev = Some(cur);
                        cur = n;
                    }
                    None => {
                        // Back at the start of a loop: close it.
                        if pass == 1 && links[&cur].contains(&s) && line.len() > 2 {
                            line.push(at[&s]);
                        }
                        break;
                    }
                }
            }
            if line.len() >= 2 {
                out.push(line);
            }
        }
    }
    out
}

/// (xmin, xmax, ymin, ymax) of the points.
pub fn bounds(points: &[Point]) -> (f64, f64, f64, f64) {
    points.iter().fold((f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY), |(a, b, c, d), &(x, y)| {
        (a.min(x), b.max(x), c.min(y), d.max(y))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(nx: usize, ny: usize, dx: f64, dy: f64) -> Vec<Point> {
        let mut p = Vec::new();
        for i in 0..nx {
            for j in 0..ny {
                p.push((i as f64 * dx, j as f64 * dy));
            }
        }
        p
    }

    /// Distance from p to the circle of radius r around the origin.
    fn off_circle(p: Point, r: f64) -> f64 {
        ((p.0 * p.0 + p.1 * p.1).sqrt() - r).abs()
    }

    #[test]
    fn a_regular_grid_triangulates_fully() {
        let t = Triangulation::new(&grid(5, 4, 1.0, 1.0));
        assert_eq!(t.points.len(), 20);
        assert_eq!(t.triangles.len(), 2 * 4 * 3);
    }

    #[test]
    fn fewer_than_three_or_collinear_points_give_no_triangles() {
        assert!(Triangulation::new(&[(0.0, 0.0), (1.0, 1.0)]).triangles.is_empty());
        assert!(Triangulation::new(&[(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)]).triangles.is_empty());
        assert!(Triangulation::new(&[]).level_lines(&[], 0.0).is_empty());
    }

    #[test]
    fn duplicates_and_non_finite_points_are_dropped() {
        let t = Triangulation::new(&[(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 0.0), (f64::NAN, 2.0), (-0.0, 1.0)]);
        assert_eq!(t.points.len(), 3);
        assert_eq!(t.source, vec![0, 1, 2]);
        assert_eq!(t.triangles.len(), 1);
    }

    #[test]
    fn a_linear_field_gives_its_exact_level_line() {
        // f = x + 2y on a grid: the level line f = 3.3 is the straight line x + 2y = 3.3.
        let pts = grid(6, 6, 1.0, 1.0);
        let t = Triangulation::new(&pts);
        let f: Vec<f64> = t.points.iter().map(|&(x, y)| x + 2.0 * y).collect();
        let lines = t.level_lines(&f, 3.3);
        assert_eq!(lines.len(), 1, "{lines:?}");
        for &(x, y) in &lines[0] {
            assert!((x + 2.0 * y - 3.3).abs() < 1e-12, "({x}, {y}) is off the line");
        }
        // It runs from one border of the grid to another.
        let (a, b) = (lines[0][0], *lines[0].last().unwrap());
        let on_border = |p: Point| p.0 < 1e-12 || p.1 < 1e-12 || p.0 > 5.0 - 1e-12 || p.1 > 5.0 - 1e-12;
        assert!(on_border(a) && on_border(b), "{a:?} {b:?}");
    }

    #[test]
    fn a_circle_is_found_within_a_grid_spacing_and_closed() {
        // CLs-like field falling off radially, centred in the grid: log10 CLs = -2 + (r/3)^2 ...
        // the 0.05 contour is the circle r = 3 * sqrt(2 + log10 0.05).
        let step = 0.5;
        let pts: Vec<Point> = grid(21, 21, step, step).into_iter().map(|(x, y)| (x - 5.0, y - 5.0)).collect();
        let t = Triangulation::new(&pts);
        let f: Vec<f64> = t.points.iter().map(|&(x, y)| -2.0 + (x * x + y * y) / 9.0).collect();
        let r = 3.0 * (2.0 + 0.05f64.log10()).sqrt();
        let lines = t.level_lines(&f, 0.05f64.log10());
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(l.first(), l.last(), "the circle is closed");
        assert!(l.len() > 20);
        for &p in l {
            assert!(off_circle(p, r) < step, "{p:?} is {} from the circle", off_circle(p, r));
        }
    }

    #[test]
    fn anisotropic_axes_are_scaled_before_triangulating() {
        // Masses: 100 GeV steps in x, 10 GeV steps in y. f = x/100 + y/10 has level lines
        // exactly recovered, whatever the triangulation, as long as no edge spans the grid.
        let pts = grid(8, 8, 100.0, 10.0);
        let t = Triangulation::new(&pts);
        let f: Vec<f64> = t.points.iter().map(|&(x, y)| x / 100.0 + y / 10.0).collect();
        for l in t.level_lines(&f, 6.5) {
            for (x, y) in l {
                assert!((x / 100.0 + y / 10.0 - 6.5).abs() < 1e-9);
            }
        }
        // Every edge joins grid neighbours (at most one step in each direction).
        for tr in &t.triangles {
            for k in 0..3 {
                let (a, b) = (t.points[tr[k]], t.points[tr[(k + 1) % 3]]);
                assert!((a.0 - b.0).abs() <= 100.0 + 1e-9 && (a.1 - b.1).abs() <= 10.0 + 1e-9);
            }
        }
    }

    #[test]
    fn the_empty_corner_of_an_l_shaped_grid_is_not_bridged() {
        // A 10x10 grid without its upper-right 6x6 corner, plus one far point that would
        // otherwise be joined by long thin triangles.
        let mut pts: Vec<Point> = grid(10, 10, 1.0, 1.0).into_iter().filter(|&(x, y)| x < 4.0 || y < 4.0).collect();
        pts.push((9.0, 9.0));
        let t = Triangulation::new(&pts);
        let centroid_in_corner = t.triangles.iter().any(|tr| {
            let cx = tr.iter().map(|&i| t.points[i].0).sum::<f64>() / 3.0;
            let cy = tr.iter().map(|&i| t.points[i].1).sum::<f64>() / 3.0;
            cx > 5.0 && cy > 5.0
        });
        assert!(!centroid_in_corner, "triangles bridge the empty corner");
        // The grid itself stays triangulated: 2 triangles for each of the L's 27 + 18 unit cells.
        assert!(t.triangles.len() >= 2 * 45, "{} triangles", t.triangles.len());
    }

    #[test]
    fn a_partial_grid_still_gives_the_contour_where_points_remain() {
        // Remove a few points (failed fits) from the circle's grid: the contour stays within a
        // grid spacing or two of the truth.
        let step = 0.5;
        let pts: Vec<Point> = grid(21, 21, step, step)
            .into_iter()
            .map(|(x, y)| (x - 5.0, y - 5.0))
            .enumerate()
            .filter(|(i, _)| i % 7 != 3)
            .map(|(_, p)| p)
            .collect();
        let t = Triangulation::new(&pts);
        let f: Vec<f64> = t.points.iter().map(|&(x, y)| -2.0 + (x * x + y * y) / 9.0).collect();
        let r = 3.0 * (2.0 + 0.05f64.log10()).sqrt();
        let lines = t.level_lines(&f, 0.05f64.log10());
        assert!(!lines.is_empty());
        for p in lines.iter().flatten() {
            assert!(off_circle(*p, r) < 2.0 * step);
        }
    }

    #[test]
    fn the_band_lies_between_its_two_contours() {
        // below = x, above = x + 1 on a grid: the band below < 2.5 <= above is 1.5 <= x < 2.5.
        let pts = grid(6, 4, 1.0, 1.0);
        let t = Triangulation::new(&pts);
        let below: Vec<f64> = t.points.iter().map(|p| p.0).collect();
        let above: Vec<f64> = t.points.iter().map(|p| p.0 + 1.0).collect();
        let pieces = t.band(&below, &above, 2.5);
        assert!(!pieces.is_empty());
        let mut area = 0.0;
        for poly in &pieces {
            for &(x, _) in poly {
                assert!((1.5 - 1e-12..=2.5 + 1e-12).contains(&x), "x = {x}");
            }
            let n = poly.len();
            area += 0.5
                * (0..n).map(|k| poly[k].0 * poly[(k + 1) % n].1 - poly[(k + 1) % n].0 * poly[k].1).sum::<f64>().abs();
        }
        // A strip 1 wide and 3 high.
        assert!((area - 3.0).abs() < 1e-9, "area {area}");
    }
}
