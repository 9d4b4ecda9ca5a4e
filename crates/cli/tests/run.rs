//! `fitfleet run`: the embedded fleet on the example pallet, one patch, the workspace alone,
//! toys, and inputs it refuses. No services needed.
mod common;

use std::collections::BTreeMap;

use serde_json::Value;

fn document(path: &std::path::Path) -> BTreeMap<String, Value> {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn run_on_the_example_pallet_gives_every_patch_with_sensible_cls() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("results.json");
    let start = std::time::Instant::now();
    let (out, _, stderr) = common::run(
        common::fitfleet(None)
            .arg("run")
            .arg(common::pallet_workspace())
            .arg("--patchset")
            .arg(common::pallet_patchset())
            .arg("--out")
            .arg(&out_path),
    );
    eprintln!("fitfleet run on the example pallet took {:.1} s", start.elapsed().as_secs_f64());
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("54 succeeded, 0 failed"), "{stderr}");
    let doc = document(&out_path);
    assert_eq!(doc.len(), 54);
    let mut by_point: BTreeMap<(u64, u64), f64> = BTreeMap::new();
    for (name, e) in &doc {
        assert_eq!(e["status"], "succeeded", "{name}: {e}");
        assert_eq!(e["labels"], serde_json::json!(["m1", "m2"]));
        let cls = e["CLs_obs"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&cls), "{name}: CLs_obs {cls}");
        let exp: Vec<f64> = e["CLs_exp"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        assert_eq!(exp.len(), 5);
        assert!(exp.windows(2).all(|w| w[0] <= w[1] + 1e-12), "{name}: CLs_exp not ordered: {exp:?}");
        assert!(e["fit_time"].as_f64().unwrap() > 0.0);
        let m = e["mass_hypotheses"].as_array().unwrap();
        let (m1, m2) = (m[0].as_f64().unwrap() as u64, m[1].as_f64().unwrap() as u64);
        assert_eq!(name, &format!("SIG_{m1}_{m2}"));
        by_point.insert((m1, m2), cls);
    }
    // The signal falls with m1: CLs rises along m1 at fixed m2, up to small wiggles, from
    // excluded at the lightest points to not excluded at the heaviest.
    for m2 in [0, 100, 200, 300] {
        let row: Vec<f64> = by_point.iter().filter(|((_, b), _)| *b == m2).map(|(_, c)| *c).collect();
        let drops = row.windows(2).filter(|w| w[1] < w[0] - 0.02).count();
        assert_eq!(drops, 0, "CLs along m1 at m2 = {m2}: {row:?}");
    }
    assert!(by_point[&(300, 0)] < 0.05, "the lightest point is excluded: {}", by_point[&(300, 0)]);
    assert!(by_point[&(1100, 0)] > 0.05, "the heaviest point is not: {}", by_point[&(1100, 0)]);
}

#[test]
fn run_on_a_workspace_alone_is_one_task() {
    // A full workspace: the background-only one with one signal patch applied.
    let dir = tempfile::tempdir().unwrap();
    let ws = fitfleet_engine::spec::load_workspace_with_patch(
        common::pallet_workspace(),
        Some(&common::pallet_patchset()),
        Some("SIG_500_100"),
    )
    .unwrap();
    let full = dir.path().join("full.json");
    std::fs::write(&full, serde_json::to_vec(&ws.value).unwrap()).unwrap();
    let out_path = dir.path().join("r.json");
    let (out, _, stderr) =
        common::run(common::fitfleet(None).arg("run").arg(&full).arg("--out").arg(&out_path).args(["--poi", "1"]));
    assert!(out.status.success(), "{stderr}");
    let doc = document(&out_path);
    assert_eq!(doc.len(), 1, "{doc:?}");
    let e = doc.values().next().unwrap();
    assert_eq!(e["status"], "succeeded");
    assert!(e["mass_hypotheses"].as_array().unwrap().is_empty());

    // The same CLs as the patch through the patchset.
    let via_patch = dir.path().join("p.json");
    let (out, _, stderr) = common::run(
        common::fitfleet(None)
            .arg("run")
            .arg(common::pallet_workspace())
            .arg("--patchset")
            .arg(common::pallet_patchset())
            .args(["--patch", "SIG_500_100", "--out"])
            .arg(&via_patch),
    );
    assert!(out.status.success(), "{stderr}");
    let p = document(&via_patch);
    assert_eq!(p.len(), 1);
    assert_eq!(p["SIG_500_100"]["CLs_obs"], e["CLs_obs"]);
}

#[test]
fn run_with_toys_merges_each_patchs_shards_into_cls() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("toys.json");
    let (out, _, stderr) = common::run(
        common::fitfleet(None)
            .arg("run")
            .arg(common::pallet_workspace())
            .arg("--patchset")
            .arg(common::pallet_patchset())
            .args(["--patch", "SIG_600_0", "--patch", "SIG_400_100"])
            .args(["--calctype", "toys", "--ntoys", "150", "--toys-per-task", "50", "--seed", "7", "--out"])
            .arg(&out_path),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("6 tasks"), "3 shards per patch: {stderr}");
    let doc = document(&out_path);
    assert_eq!(doc.keys().collect::<Vec<_>>(), ["SIG_400_100", "SIG_600_0"]);
    for (name, e) in &doc {
        assert_eq!(e["status"], "succeeded", "{name}: {e}");
        let cls = e["CLs_obs"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&cls), "{name}: {cls}");
        assert!(e.get("toys").is_none(), "shards are merged away");
    }
}

#[test]
fn run_refuses_bad_inputs_before_fitting() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _, stderr) = common::run(
        common::fitfleet(None)
            .arg("run")
            .arg(common::pallet_workspace())
            .arg("--patchset")
            .arg(common::pallet_patchset())
            .args(["--patch", "SIG_999_0", "--out"])
            .arg(dir.path().join("r.json")),
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("SIG_999_0"), "{stderr}");
    assert!(!dir.path().join("r.json").exists());
}

/// `--patch` is one flag for every command; a command that applies one patch says so when
/// given several, and runs with one.
#[test]
fn a_single_test_takes_one_patch() {
    let cls = |patches: &[&str]| {
        let mut cmd = common::fitfleet(None);
        cmd.arg("cls").arg(common::pallet_workspace()).arg("--patchset").arg(common::pallet_patchset());
        for p in patches {
            cmd.args(["--patch", p]);
        }
        common::run(&mut cmd)
    };
    let (out, _, stderr) = cls(&["SIG_300_0", "SIG_400_0"]);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--patch: this command applies one patch, 2 given (SIG_300_0, SIG_400_0)"), "{stderr}");
    let (out, stdout, stderr) = cls(&["SIG_300_0"]);
    assert!(out.status.success(), "{stderr}");
    let cls: Value = serde_json::from_str(&stdout).unwrap();
    assert!((0.0..=1.0).contains(&cls["CLs_obs"].as_f64().unwrap()), "{cls}");
}

/// A pallet as HEPData publishes it (a .tar.gz holding a folder with BkgOnly.json and
/// patchset.json) or as a directory, and a patch named by its values: the same answers as the
/// files and the name.
#[test]
fn a_pallet_archive_or_directory_and_a_patch_by_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("pallet.tar.gz");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&archive).unwrap(),
        flate2::Compression::fast(),
    ));
    tar.append_path_with_name(common::pallet_workspace(), "example-pallet/BkgOnly.json").unwrap();
    tar.append_path_with_name(common::pallet_patchset(), "example-pallet/patchset.json").unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let cls = |args: &[&std::ffi::OsStr]| {
        let (out, stdout, stderr) = common::run(common::fitfleet(None).arg("cls").args(args));
        assert!(out.status.success(), "{args:?}: {stderr}");
        stdout
    };
    let (ws, ps) = (common::pallet_workspace(), common::pallet_patchset());
    let by_files =
        cls(&[ws.as_os_str(), "--patchset".as_ref(), ps.as_os_str(), "--patch".as_ref(), "SIG_500_100".as_ref()]);
    let by_archive = cls(&[archive.as_os_str(), "--patch".as_ref(), "500,100".as_ref()]);
    let by_directory = cls(&[common::pallet_dir().as_os_str(), "--patch".as_ref(), "SIG_500_100".as_ref()]);
    assert_eq!(by_archive, by_files);
    assert_eq!(by_directory, by_files);

    let (out, _, stderr) = common::run(common::fitfleet(None).arg("cls").arg(&archive).args(["--patch", "500,150"]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no patch with values [500, 150]") || stderr.contains("no patch with values"), "{stderr}");
}

/// `--device` (and FITFLEET_DEVICE) picks where fits run; a GPU this binary or machine lacks is
/// an error saying which, exit 2, before anything is fitted.
#[test]
fn the_device_is_chosen_and_a_missing_gpu_is_named() {
    let cls = |extra: &[&str], env: Option<&str>| {
        let mut cmd = common::fitfleet(None);
        cmd.arg("cls").arg(common::pallet_workspace()).arg("--patchset").arg(common::pallet_patchset());
        cmd.args(["--patch", "SIG_500_100"]).args(extra);
        match env {
            Some(v) => cmd.env("FITFLEET_DEVICE", v),
            None => cmd.env_remove("FITFLEET_DEVICE"),
        };
        common::run(&mut cmd)
    };
    let (out, on_default, stderr) = cls(&[], None);
    assert!(out.status.success(), "{stderr}");
    let (out, on_cpu, _) = cls(&["--device", "cpu"], Some("cuda"));
    assert!(out.status.success(), "the flag wins over the variable");
    assert_eq!(on_cpu, on_default);
    let (out, _, stderr) = cls(&["--device", "tpu"], None);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("device \"tpu\": expected cpu, cuda or cuda:N"), "{stderr}");
    let (out, _, stderr) = cls(&[], Some("cuda"));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("device cuda:0: "), "{stderr}");
    let (out, _, stderr) = common::run(common::fitfleet(None).arg("run").arg(common::pallet_dir()).args([
        "--patch",
        "SIG_500_100",
        "--device",
        "cuda:1",
    ]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("device cuda:1: "), "{stderr}");
}
