//! `fitfleet workspace ...` and `fitfleet patchset ...`: outputs as pyhf writes them (the
//! sha256 of pyhf's own output files and text, from `crates/engine/tests/data/
//! pyhf_workspace_ops.json`), exit codes, and errors naming the file, the field and the reason.
//!
//! Needs the shared reference data (`FITFLEET_REFERENCE`, or `shared/reference` beside the
//! repository).
mod common;

use std::path::{Path, PathBuf};

use common::{fitfleet, pallet_dir, run};
use fitfleet_engine::spec::{DigestAlgorithm, hash_hex};
use fitfleet_testkit::jobs::reference_dir;
use serde_json::Value;

const LBB: &str = "atlas-susy-2019-08-1lbb";

fn reference(relative: &str) -> PathBuf {
    let path = reference_dir().join(relative);
    assert!(path.is_file(), "reference file {} is missing", path.display());
    path
}

/// pyhf's answer for the case of that name.
fn pyhf_case(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/data/pyhf_workspace_ops.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("test data")).expect("JSON");
    doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name:?} in {}", path.display()))
        .clone()
}

fn sha256(bytes: &[u8]) -> String {
    hash_hex(DigestAlgorithm::Sha256, bytes)
}

/// Runs fitfleet with `args`; asserts it succeeded and returns its standard output.
fn ok(args: &[&str]) -> String {
    let (out, stdout, stderr) = run(fitfleet(None).args(args));
    assert!(out.status.success(), "fitfleet {args:?} failed: {stderr}");
    stdout
}

/// Runs fitfleet with `args`; asserts it failed with exit code 2 and returns its stderr.
fn fails(args: &[&str]) -> String {
    let (out, _, stderr) = run(fitfleet(None).args(args));
    assert_eq!(out.status.code(), Some(2), "fitfleet {args:?} should fail: {stderr}");
    stderr
}

/// Runs a command writing `--output-file` and returns the file's sha256.
fn output_sha(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("out.json");
    let mut all: Vec<&str> = args.to_vec();
    let file_arg = file.display().to_string();
    all.extend(["--output-file", &file_arg]);
    ok(&all);
    sha256(&std::fs::read(&file).expect("the output file"))
}

#[test]
fn digest_is_pyhfs_and_the_patchsets() {
    let ws = reference(&format!("{LBB}/BkgOnly.json"));
    let ws_arg = ws.display().to_string();
    let expected = pyhf_case(&format!("digest {LBB}/BkgOnly.json"))["digests"].clone();
    let stdout = ok(&["workspace", "digest", &ws_arg]);
    assert_eq!(stdout.trim(), format!("sha256:{}", expected["sha256"].as_str().unwrap()));
    // The digest the published patchset records.
    let patchset: Value =
        serde_json::from_slice(&std::fs::read(reference(&format!("{LBB}/patchset.json"))).unwrap()).unwrap();
    assert_eq!(stdout.trim(), format!("sha256:{}", patchset["metadata"]["digests"]["sha256"].as_str().unwrap()));
    let stdout = ok(&["workspace", "digest", &ws_arg, "-a", "md5", "-a", "sha512", "-a", "md5", "--json"]);
    let json: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json, serde_json::json!({"md5": expected["md5"], "sha512": expected["sha512"]}));
    assert!(stdout.starts_with("{\n    \"md5\": \""), "pyhf's layout: {stdout}");
    let stderr = fails(&["workspace", "digest", &ws_arg, "-a", "sha3"]);
    assert!(stderr.contains("--algorithm \"sha3\": not a hash algorithm"), "{stderr}");
}

#[test]
fn sort_prune_rename_and_combine_write_pyhfs_bytes() {
    let tttt = reference("atlas-tttt/workspace.json").display().to_string();
    let expected = |name: &str| pyhf_case(name)["result"]["file_sha256"].as_str().expect("a result").to_string();
    assert_eq!(output_sha(&["workspace", "sort", &tttt]), expected("sort atlas-tttt/workspace.json"));
    assert_eq!(
        output_sha(&["workspace", "prune", &tttt, "-t", "staterror"]),
        expected("prune atlas-tttt/workspace.json modifier_types=staterror")
    );
    let case = pyhf_case(&format!("combine {LBB}/BkgOnly.json with itself, join outer"));
    let lbb = reference(&format!("{LBB}/BkgOnly.json")).display().to_string();
    assert_eq!(
        output_sha(&["workspace", "combine", &lbb, &lbb, "--join", "outer"]),
        case["result"]["file_sha256"].as_str().unwrap()
    );
    // Standard output: the same text and a newline.
    let stdout = ok(&["workspace", "sort", &tttt]);
    assert_eq!(sha256(stdout.strip_suffix('\n').unwrap().as_bytes()), expected("sort atlas-tttt/workspace.json"));
    // Rename, as the script did (its arguments from the test data).
    let case = pyhf_case(
        "rename small/complex_workspace.json channels=SR->renamed_channel,samples=signal->renamed_sample,\
         modifiers=mu->renamed_poi,measurements=measurement->renamed_measurement",
    );
    let small = reference("small/complex_workspace.json").display().to_string();
    let mut args = vec!["workspace", "rename", small.as_str()];
    let pairs: Vec<(String, String, String)> = ["channels", "samples", "modifiers", "measurements"]
        .iter()
        .flat_map(|field| {
            case["args"][field].as_object().unwrap().iter().map(move |(old, new)| {
                let flag = format!("--{}", field.trim_end_matches('s'));
                (flag, old.clone(), new.as_str().unwrap().to_string())
            })
        })
        .collect();
    for (flag, old, new) in &pairs {
        args.extend([flag.as_str(), old.as_str(), new.as_str()]);
    }
    assert_eq!(output_sha(&args), case["result"]["file_sha256"].as_str().unwrap());
}

#[test]
fn operation_errors_name_the_file_the_field_and_the_reason() {
    let small = reference("small/complex_workspace.json").display().to_string();
    let stderr = fails(&["workspace", "prune", &small, "--channel", "SRR"]);
    assert!(
        stderr.contains(&format!(
            "{small}: channels[].name: \"SRR\" is not one of the channels in this workspace; closest: SR"
        )),
        "{stderr}"
    );
    let stderr = fails(&["workspace", "rename", &small, "--modifier", "lumi", "luminosity"]);
    assert!(stderr.contains(".modifiers[") && stderr.contains("a lumi modifier must be named \"lumi\""), "{stderr}");
    let stderr = fails(&["workspace", "prune", &small, "-t", "shapesys"]);
    assert!(stderr.contains("shapesys is not one of the modifier types in this workspace"), "{stderr}");
    let stderr = fails(&["workspace", "prune", &small, "-t", "shapesyst"]);
    assert!(stderr.contains("unknown modifier type \"shapesyst\""), "{stderr}");
    let stderr = fails(&["workspace", "combine", &small, &small]);
    assert!(
        stderr
            .contains(&format!("combine({small} + {small}): channels: the workspaces have channels of the same name"))
            && stderr.contains("\"CR\", \"SR\""),
        "{stderr}"
    );
    let stderr = fails(&["workspace", "combine", &small, &small, "--merge-channels"]);
    assert!(stderr.contains("channels can only be merged with the join"), "{stderr}");
    let stderr = fails(&["workspace", "sort", "/no/such/ws.json"]);
    assert!(stderr.contains("/no/such/ws.json: cannot read"), "{stderr}");
}

#[test]
fn patchset_commands_read_pallets_and_answer_as_pyhf() {
    let ws = reference(&format!("{LBB}/BkgOnly.json")).display().to_string();
    let ps = reference(&format!("{LBB}/patchset.json")).display().to_string();
    // inspect: pyhf's text, byte for byte.
    let case = pyhf_case(&format!("inspect {LBB}/patchset.json"));
    assert_eq!(sha256(ok(&["patchset", "inspect", &ps]).as_bytes()), case["stdout_sha256"].as_str().unwrap());
    // list: every patch with its values.
    let listing: Value = serde_json::from_str(&ok(&["patchset", "list", &ps, "--json"])).expect("JSON");
    assert_eq!(listing["labels"], case["labels"]);
    let patches = listing["patches"].as_array().expect("patches");
    assert_eq!(patches.len() as u64, case["patches"].as_u64().unwrap());
    let table = ok(&["patchset", "list", &ps]);
    assert_eq!(table.lines().count(), patches.len() + 1);
    assert!(table.lines().next().unwrap().split_whitespace().eq(["name", "m1", "m2"]), "{table}");
    // extract and apply, the first patch by name and by its values.
    let first = patches[0]["name"].as_str().unwrap();
    let values: Vec<String> = patches[0]["values"].as_array().unwrap().iter().map(|v| v.to_string()).collect();
    let values = values.join(",");
    let extract = pyhf_case(&format!("extract {LBB}/patchset.json {first} metadata False"));
    assert_eq!(output_sha(&["patchset", "extract", &ps, "--name", first]), extract["result"]["file_sha256"]);
    let with_metadata = pyhf_case(&format!("extract {LBB}/patchset.json {first} metadata True"));
    assert_eq!(
        output_sha(&["patchset", "extract", &ps, "--name", &values, "--with-metadata"]),
        with_metadata["result"]["file_sha256"]
    );
    let apply = pyhf_case(&format!("apply {LBB}/patchset.json {first}"));
    assert_eq!(output_sha(&["patchset", "apply", &ws, &ps, "--patch", &values]), apply["result"]["file_sha256"]);
    assert_eq!(ok(&["patchset", "verify", &ws, &ps]).trim(), "All good.");
    // Another workspace: verify and apply refuse, naming the digests.
    let tttt = reference("atlas-tttt/workspace.json").display().to_string();
    let stderr = fails(&["patchset", "verify", &tttt, &ps]);
    assert!(
        stderr.contains(&format!("{tttt}: the patchset {ps} was not made for this workspace"))
            && stderr.contains("metadata.digests.sha256: workspace digest is"),
        "{stderr}"
    );
    let stderr = fails(&["patchset", "apply", &tttt, &ps, "--name", first]);
    assert!(stderr.contains("but the patchset was made for"), "{stderr}");
    let stderr = fails(&["patchset", "extract", &ps, "--name", "C1N2_Wh_hbb_1000_O"]);
    assert!(stderr.contains("no patch named \"C1N2_Wh_hbb_1000_O\"") && stderr.contains("closest:"), "{stderr}");
    let stderr = fails(&["patchset", "apply", &tttt, "--name", first]);
    assert!(stderr.contains("no patchset: give PATCHSET"), "{stderr}");
}

#[test]
fn a_pallet_directory_or_archive_stands_for_its_files() {
    let dir = pallet_dir();
    let dir_arg = dir.display().to_string();
    let bkg = dir.join("BkgOnly.json").display().to_string();
    let direct = ok(&["workspace", "digest", &bkg]);
    assert_eq!(ok(&["workspace", "digest", &dir_arg]), direct);
    // The example patchset records the workspace's digest.
    let ps: Value = serde_json::from_slice(&std::fs::read(dir.join("patchset.json")).unwrap()).unwrap();
    assert_eq!(direct.trim(), format!("sha256:{}", ps["metadata"]["digests"]["sha256"].as_str().unwrap()));
    // An archive as HEPData serves it.
    let tmp = tempfile::tempdir().expect("temporary directory");
    let archive = tmp.path().join("pallet.tar.gz");
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&archive).unwrap(),
        flate2::Compression::fast(),
    ));
    builder.append_path_with_name(dir.join("BkgOnly.json"), "pallet/BkgOnly.json").unwrap();
    builder.append_path_with_name(dir.join("patchset.json"), "pallet/patchset.json").unwrap();
    builder.into_inner().unwrap().finish().unwrap();
    let archive_arg = archive.display().to_string();
    assert_eq!(ok(&["workspace", "digest", &archive_arg]), direct);
    assert_eq!(ok(&["patchset", "verify", &archive_arg]).trim(), "All good.");
    let inspect = ok(&["patchset", "inspect", &archive_arg]);
    assert!(inspect.starts_with("\n    54 patches found in Patchset\n"), "{inspect}");
    let patched: Value = serde_json::from_str(&ok(&["patchset", "apply", &dir_arg, "--name", "300,0"])).unwrap();
    let samples: Vec<&str> =
        patched["channels"][0]["samples"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(samples, ["ttbar", "wjets", "diboson", "signal"]);
}
