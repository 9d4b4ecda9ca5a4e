//! Smoothing of contours for a figure, as analysts smooth exclusion curves before publishing them.
//!
//! Each signal point's CLs comes from its own signal sample, so a point can sit off the trend of
//! its neighbours (the 1Lbb pallet's median expected CLs at (750, 300) is 0.037 between 0.057 and
//! 0.067): interpolated exactly, the contour then grows a finger one grid cell wide around that
//! point, which reads as a loop on a slide. Two steps remove such features without moving the
//! contour where the points follow a trend:
//!
//! * [`local_linear`]: each point's value (log10 CLs) is replaced by the value at that point of
//!   the plane fitted by least squares to the point and its neighbours in the triangulation
//!   (local linear regression over the one-ring). A field linear in the masses is left exactly
//!   as it is, at the border of the grid too; a single point off its neighbours' plane is pulled
//!   onto it.
//! * [`chaikin`]: the traced polylines get their corners cut (Chaikin's scheme: each segment
//!   is replaced by its points at 1/4 and 3/4), which keeps open ends where they are and moves
//!   no point by more than a quarter of a segment per pass.
use super::levelset::{Point, Polyline, Triangulation, bounds};

/// Passes of corner cutting applied to each contour line when smoothing.
pub const CHAIKIN_PASSES: usize = 2;

/// `passes` rounds of local linear regression of `values` (one per kept point of `tri`) over
/// each point's one-ring. Values that are not finite are neither used nor changed; a point whose
/// neighbours do not span a plane keeps its value.
pub fn local_linear(tri: &Triangulation, values: &[f64], passes: usize) -> Vec<f64> {
    let mut out = values.to_vec();
    if tri.triangles.is_empty() || passes == 0 {
        return out;
    }
    let (x0, x1, y0, y1) = bounds(&tri.points);
    let (sx, sy) = ((x1 - x0).max(f64::MIN_POSITIVE), (y1 - y0).max(f64::MIN_POSITIVE));
    let scaled: Vec<Point> = tri.points.iter().map(|&(x, y)| ((x - x0) / sx, (y - y0) / sy)).collect();
    let ring = one_rings(tri);
    for _ in 0..passes {
        let before = out.clone();
        for (i, neighbours) in ring.iter().enumerate() {
            if !before[i].is_finite() {
                continue;
            }
            let around = neighbours.iter().map(|&j| (scaled[j], before[j]));
            if let Some(v) = plane_at(scaled[i], std::iter::once((scaled[i], before[i])).chain(around)) {
                out[i] = v;
            }
        }
    }
    out
}

/// Each point's neighbours: the points it shares a triangle edge with, ascending.
fn one_rings(tri: &Triangulation) -> Vec<Vec<usize>> {
    let mut ring = vec![Vec::new(); tri.points.len()];
    for t in &tri.triangles {
        for k in 0..3 {
            let (a, b) = (t[k], t[(k + 1) % 3]);
            ring[a].push(b);
            ring[b].push(a);
        }
    }
    for r in &mut ring {
        r.sort_unstable();
        r.dedup();
    }
    ring
}

/// The least-squares plane through `samples` (position, value; non-finite values skipped),
/// evaluated at `at`; `None` when the positions do not span a plane.
fn plane_at(at: Point, samples: impl Iterator<Item = (Point, f64)>) -> Option<f64> {
    // Normal equations of f = a + b dx + c dy, with dx, dy relative to `at` (then a is the value).
    let mut m = [[0.0f64; 3]; 3];
    let mut r = [0.0f64; 3];
    for ((x, y), f) in samples.filter(|(_, f)| f.is_finite()) {
        let row = [1.0, x - at.0, y - at.1];
        for p in 0..3 {
            for q in 0..3 {
                m[p][q] += row[p] * row[q];
            }
            r[p] += row[p] * f;
        }
    }
    let det = det3(&m);
    // Relative to the scale of the entries: collinear neighbours give a (near) singular matrix.
    let scale = m[0][0] * m[1][1].max(f64::MIN_POSITIVE) * m[2][2].max(f64::MIN_POSITIVE);
    if !det.is_finite() || det.abs() <= 1e-9 * scale {
        return None;
    }
    // Cramer's rule for the first unknown.
    let mut m0 = m;
    for p in 0..3 {
        m0[p][0] = r[p];
    }
    Some(det3(&m0) / det)
}

fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// `passes` rounds of Chaikin corner cutting. An open line keeps its two ends (where it leaves
/// the triangulated area); a closed one (last point equal to the first) stays closed.
pub fn chaikin(line: &Polyline, passes: usize) -> Polyline {
    let mut cur = line.clone();
    for _ in 0..passes {
        if cur.len() < 3 {
            return cur;
        }
        let closed = cur.first() == cur.last();
        let cut = |a: Point, b: Point| {
            [(0.75 * a.0 + 0.25 * b.0, 0.75 * a.1 + 0.25 * b.1), (0.25 * a.0 + 0.75 * b.0, 0.25 * a.1 + 0.75 * b.1)]
        };
        let mut next = Vec::with_capacity(2 * cur.len());
        if !closed {
            next.push(cur[0]);
        }
        for w in cur.windows(2) {
            next.extend(cut(w[0], w[1]));
        }
        if closed {
            next.push(next[0]);
        } else {
            next.push(*cur.last().expect("three points or more"));
        }
        cur = next;
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(nx: usize, ny: usize) -> Vec<Point> {
        (0..nx).flat_map(|i| (0..ny).map(move |j| (100.0 * i as f64, 50.0 * j as f64))).collect()
    }

    #[test]
    fn a_linear_field_is_left_as_it_is_border_included() {
        let t = Triangulation::new(&grid(7, 6));
        let f: Vec<f64> = t.points.iter().map(|&(x, y)| -3.0 + x / 300.0 - y / 120.0).collect();
        let s = local_linear(&t, &f, 3);
        for (a, b) in f.iter().zip(&s) {
            assert!((a - b).abs() < 1e-9, "{a} became {b}");
        }
    }

    #[test]
    fn a_point_off_its_neighbours_plane_is_pulled_onto_it() {
        let t = Triangulation::new(&grid(7, 6));
        let mut f: Vec<f64> = t.points.iter().map(|&(x, _)| -1.0 - x / 600.0).collect();
        let i = t.points.iter().position(|&p| p == (300.0, 150.0)).unwrap();
        let trend = f[i];
        f[i] -= 0.3;
        let s = local_linear(&t, &f, 1);
        // One pass spreads the dip over the ring: the point moves most of the way back.
        assert!((s[i] - trend).abs() < 0.1, "{} vs trend {trend}", s[i]);
        assert!(s[i] < trend, "the dip keeps its sign");
    }

    #[test]
    fn non_finite_values_stay_and_are_not_used() {
        let t = Triangulation::new(&grid(4, 4));
        let mut f: Vec<f64> = t.points.iter().map(|&(x, y)| x + y).collect();
        f[5] = f64::NAN;
        let s = local_linear(&t, &f, 1);
        assert!(s[5].is_nan());
        for (k, (a, b)) in f.iter().zip(&s).enumerate() {
            if k != 5 {
                assert!((a - b).abs() < 1e-9, "{a} became {b}");
            }
        }
    }

    #[test]
    fn corner_cutting_keeps_open_ends_and_closed_loops_closed() {
        let open = vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)];
        let c = chaikin(&open, 2);
        assert_eq!(c.first(), Some(&(0.0, 0.0)));
        assert_eq!(c.last(), Some(&(1.0, 1.0)));
        assert!(c.len() > open.len());
        // The corner at (1, 0) is cut: no point of the smoothed line is on it.
        assert!(c.iter().all(|&p| p != (1.0, 0.0)));
        let closed = vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)];
        let c = chaikin(&closed, 2);
        assert_eq!(c.first(), c.last());
        // Within the square.
        assert!(c.iter().all(|&(x, y)| (0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y)));
    }
}
