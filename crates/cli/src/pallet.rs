//! The example pallet: a background-only workspace and a patchset of signal points, made by
//! fitfleet itself (published pallets are not redistributed). It looks like a small search:
//!
//! * three channels: a top control region `CR_Top` (3 bins) and two signal regions,
//!   `SR_lowDM` and `SR_highDM` (4 bins each), for small and large mass splittings;
//! * three backgrounds: `ttbar` (normalised in the control region by the free `mu_Top`,
//!   with a theory normsys and a jet-energy-scale histosys), `wjets` (normsys and histosys)
//!   and `diboson` (normsys); every background has per-bin MC statistical uncertainties
//!   (staterror) and the luminosity uncertainty (lumi, 1.7%);
//! * observed counts close to the background expectation;
//! * signal points over the (m1, m2) plane, 300 to 1100 GeV in m1 and 0 up to m1 - 200 in
//!   m2, 100 GeV apart (54 points): each patch adds a `signal` sample with the POI `mu_SIG`
//!   (normfactor), lumi and a theory normsys. The cross-section falls exponentially with m1,
//!   and the acceptance drops towards the diagonal, so the exclusion contour crosses the
//!   plane.
//!
//! Everything is computed from formulas (no randomness) and written with fixed key order, so
//! the files are the same bytes on every machine; the patchset's `metadata.digests.sha256`
//! is pyhf's digest of the workspace.
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// The file names written by [`write`].
pub const WORKSPACE_FILE: &str = "BkgOnly.json";
pub const PATCHSET_FILE: &str = "patchset.json";

/// The POI the patches add.
pub const POI: &str = "mu_SIG";

const CHANNELS: [(&str, usize); 3] = [("CR_Top", 3), ("SR_highDM", 4), ("SR_lowDM", 4)];

/// The two files' contents: (workspace, patchset), each pretty JSON ending in a newline.
pub fn generate() -> Result<(String, String)> {
    let workspace = pretty(&workspace())?;
    let value: serde_json::Value = serde_json::from_str(&workspace)?;
    let digest = fitfleet_engine::spec::digest(&value);
    let patchset = pretty(&patchset(&digest))?;
    Ok((workspace, patchset))
}

/// Write `BkgOnly.json` and `patchset.json` into `dir` (created if missing); returns their paths.
pub fn write(dir: &Path) -> Result<[std::path::PathBuf; 2]> {
    let (workspace, patchset) = generate()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let paths = [dir.join(WORKSPACE_FILE), dir.join(PATCHSET_FILE)];
    for (path, text) in paths.iter().zip([workspace, patchset]) {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(paths)
}

/// The signal points (m1, m2), in patchset order.
pub fn grid() -> Vec<(u32, u32)> {
    let mut points = Vec::new();
    for m1 in (300..=1100).step_by(100) {
        for m2 in (0..=m1 - 200).step_by(100) {
            points.push((m1, m2));
        }
    }
    points
}

/// The name of the patch of a point: `SIG_<m1>_<m2>`.
pub fn patch_name(m1: u32, m2: u32) -> String {
    format!("SIG_{m1}_{m2}")
}

fn pretty<T: Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// Rounded to 3 decimals, so the files stay readable.
fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

// ---- The workspace ----

#[derive(Serialize)]
struct Workspace {
    channels: Vec<Channel>,
    measurements: Vec<Measurement>,
    observations: Vec<Observation>,
    version: &'static str,
}

#[derive(Serialize)]
struct Channel {
    name: String,
    samples: Vec<Sample>,
}

#[derive(Serialize)]
struct Sample {
    name: String,
    data: Vec<f64>,
    modifiers: Vec<Modifier>,
}

#[derive(Serialize)]
struct Modifier {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    data: ModifierData,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ModifierData {
    None(Option<()>),
    Norm { hi: f64, lo: f64 },
    Histo { hi_data: Vec<f64>, lo_data: Vec<f64> },
    Stat(Vec<f64>),
}

#[derive(Serialize)]
struct Measurement {
    name: &'static str,
    config: MeasurementConfig,
}

#[derive(Serialize)]
struct MeasurementConfig {
    poi: &'static str,
    parameters: Vec<Parameter>,
}

#[derive(Serialize)]
struct Parameter {
    name: &'static str,
    auxdata: Vec<f64>,
    sigmas: Vec<f64>,
    bounds: Vec<[f64; 2]>,
    inits: Vec<f64>,
}

#[derive(Serialize)]
struct Observation {
    name: String,
    data: Vec<f64>,
}

/// Expected background counts per bin: (ttbar, wjets, diboson).
fn backgrounds(channel: &str) -> [Vec<f64>; 3] {
    match channel {
        "CR_Top" => [vec![420.0, 260.0, 130.0], vec![60.0, 35.0, 18.0], vec![12.0, 8.0, 5.0]],
        "SR_lowDM" => [vec![28.0, 17.0, 9.5, 5.0], vec![14.0, 9.0, 5.5, 3.0], vec![4.0, 3.0, 2.0, 1.2]],
        _ => [vec![9.0, 5.5, 3.0, 1.5], vec![5.0, 3.2, 1.8, 0.9], vec![2.5, 1.8, 1.1, 0.7]],
    }
}

/// Observed counts: the background, fluctuated by a fixed pattern of about one standard
/// deviation, rounded to whole events.
fn observed(expected: &[f64], channel_index: usize) -> Vec<f64> {
    const PATTERN: [f64; 7] = [0.6, -0.9, 0.3, 1.1, -0.4, -1.2, 0.8];
    expected
        .iter()
        .enumerate()
        .map(|(i, b)| (b + PATTERN[(3 * channel_index + i) % PATTERN.len()] * b.sqrt()).round().max(0.0))
        .collect()
}

fn lumi() -> Modifier {
    Modifier { name: "lumi".into(), kind: "lumi", data: ModifierData::None(None) }
}

fn normsys(name: &str, hi: f64, lo: f64) -> Modifier {
    Modifier { name: name.into(), kind: "normsys", data: ModifierData::Norm { hi, lo } }
}

/// A shape uncertainty growing along the bins: +-(`base` + `slope` x bin) relative.
fn histosys(name: &str, nominal: &[f64], base: f64, slope: f64) -> Modifier {
    let shift = |i: usize| base + slope * i as f64;
    Modifier {
        name: name.into(),
        kind: "histosys",
        data: ModifierData::Histo {
            hi_data: nominal.iter().enumerate().map(|(i, x)| r3(x * (1.0 + shift(i)))).collect(),
            lo_data: nominal.iter().enumerate().map(|(i, x)| r3(x * (1.0 - 0.8 * shift(i)))).collect(),
        },
    }
}

/// MC statistical uncertainty of a sample: 4% plus a fixed 0.15 events per bin.
fn staterror(channel: &str, nominal: &[f64]) -> Modifier {
    Modifier {
        name: format!("staterror_{channel}"),
        kind: "staterror",
        data: ModifierData::Stat(nominal.iter().map(|x| r3(0.04 * x + 0.15)).collect()),
    }
}

fn workspace() -> Workspace {
    let mut channels = Vec::new();
    let mut observations = Vec::new();
    for (ci, (name, _)) in CHANNELS.iter().enumerate() {
        let [ttbar, wjets, diboson] = backgrounds(name);
        let signal_region = name.starts_with("SR");
        let mut ttbar_mods =
            vec![Modifier { name: "mu_Top".into(), kind: "normfactor", data: ModifierData::None(None) }];
        if signal_region {
            ttbar_mods.push(normsys("ttbar_extrapolation", 1.12, 0.9));
        }
        ttbar_mods.extend([histosys("JES", &ttbar, 0.02, 0.015), staterror(name, &ttbar), lumi()]);
        let samples = vec![
            Sample { name: "ttbar".into(), data: ttbar.clone(), modifiers: ttbar_mods },
            Sample {
                name: "wjets".into(),
                data: wjets.clone(),
                modifiers: vec![
                    normsys("wjets_xsec", 1.1, 0.88),
                    histosys("JES", &wjets, 0.03, 0.02),
                    staterror(name, &wjets),
                    lumi(),
                ],
            },
            Sample {
                name: "diboson".into(),
                data: diboson.clone(),
                modifiers: vec![normsys("diboson_xsec", 1.15, 0.85), staterror(name, &diboson), lumi()],
            },
        ];
        let total: Vec<f64> = (0..ttbar.len()).map(|i| ttbar[i] + wjets[i] + diboson[i]).collect();
        observations.push(Observation { name: name.to_string(), data: observed(&total, ci) });
        channels.push(Channel { name: name.to_string(), samples });
    }
    Workspace {
        channels,
        measurements: vec![Measurement {
            name: "NormalMeasurement",
            config: MeasurementConfig {
                poi: POI,
                parameters: vec![Parameter {
                    name: "lumi",
                    auxdata: vec![1.0],
                    sigmas: vec![0.017],
                    bounds: vec![[0.915, 1.085]],
                    inits: vec![1.0],
                }],
            },
        }],
        observations,
        version: "1.0.0",
    }
}

// ---- The patchset ----

#[derive(Serialize)]
struct PatchSet {
    metadata: PatchSetMetadata,
    patches: Vec<Patch>,
    version: &'static str,
}

#[derive(Serialize)]
struct PatchSetMetadata {
    name: &'static str,
    description: &'static str,
    digests: Digests,
    labels: [&'static str; 2],
    references: References,
}

#[derive(Serialize)]
struct Digests {
    sha256: String,
}

#[derive(Serialize)]
struct References {
    hepdata: &'static str,
}

#[derive(Serialize)]
struct Patch {
    metadata: PatchMetadata,
    patch: Vec<Operation>,
}

#[derive(Serialize)]
struct PatchMetadata {
    name: String,
    values: [u32; 2],
}

#[derive(Serialize)]
struct Operation {
    op: &'static str,
    path: String,
    value: Sample,
}

/// Signal events expected (before acceptance) at m1: exponentially falling cross-section.
fn signal_events(m1: u32) -> f64 {
    800.0 * (-(f64::from(m1) - 300.0) / 150.0).exp()
}

/// The signal's expected counts in a channel for the point (m1, m2).
fn signal_yields(channel: &str, nbins: usize, m1: u32, m2: u32) -> Vec<f64> {
    let dm = f64::from(m1 - m2);
    // Acceptance grows with the mass splitting; large splittings go to SR_highDM.
    let acceptance = 0.15 + 0.5 * (1.0 - (-dm / 350.0).exp());
    let high = dm / (dm + 400.0);
    let (fraction, peak) = match channel {
        "SR_highDM" => (high, (dm / 900.0).min(1.0)),
        "SR_lowDM" => (1.0 - high, (dm / 600.0).min(1.0)),
        _ => (0.02, 0.0),
    };
    let weights: Vec<f64> = (0..nbins)
        .map(|i| {
            let x = i as f64 / (nbins - 1) as f64;
            (-(x - peak).powi(2) / 0.18).exp()
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    let total = signal_events(m1) * acceptance * fraction;
    weights.iter().map(|w| r3((total * w / sum).max(0.001))).collect()
}

fn patchset(digest: &str) -> PatchSet {
    let patches = grid()
        .into_iter()
        .map(|(m1, m2)| Patch {
            metadata: PatchMetadata { name: patch_name(m1, m2), values: [m1, m2] },
            patch: CHANNELS
                .iter()
                .enumerate()
                .map(|(ci, (channel, nbins))| Operation {
                    op: "add",
                    path: format!("/channels/{ci}/samples/3"),
                    value: Sample {
                        name: "signal".into(),
                        data: signal_yields(channel, *nbins, m1, m2),
                        modifiers: vec![
                            Modifier { name: POI.into(), kind: "normfactor", data: ModifierData::None(None) },
                            normsys("signal_theory", 1.1, 0.9),
                            lumi(),
                        ],
                    },
                })
                .collect(),
        })
        .collect();
    PatchSet {
        metadata: PatchSetMetadata {
            name: "fitfleet_example",
            description: "fitfleet's example pallet: a made-up search with three channels and 54 signal points \
                          over (m1, m2), generated by `fitfleet example-pallet` (not a published likelihood)",
            digests: Digests { sha256: digest.to_string() },
            labels: ["m1", "m2"],
            references: References { hepdata: "ins0000000" },
        },
        patches,
        version: "1.0.0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_54_points_below_the_diagonal() {
        let g = grid();
        assert_eq!(g.len(), 54);
        assert!(g.iter().all(|(m1, m2)| m2 + 200 <= *m1));
    }

    #[test]
    fn patchset_loads_and_belongs_to_the_workspace() {
        let (ws, ps) = generate().unwrap();
        let loaded = fitfleet_engine::spec::LoadedWorkspace::from_slice("BkgOnly.json", ws.as_bytes()).unwrap();
        let set = fitfleet_engine::spec::PatchSet::from_slice("patchset.json", ps.as_bytes()).unwrap();
        set.verify_digest(&loaded.value).unwrap();
        assert_eq!(set.len(), 54);
        for p in set.patches() {
            set.apply(&loaded.value, p).unwrap();
        }
    }
}
