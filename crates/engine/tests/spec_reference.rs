//! Every published workspace in the shared reference data loads and validates, and every patch
//! of every patchset applies to its background-only workspace and validates.
mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use fitfleet_engine::spec::{LoadedWorkspace, PatchSet, digest, load_workspace_with_patch, parse_value};
use serde_json::Value;

/// The reference JSON files whose top level has `key` (workspaces: "channels"; patchsets:
/// "patches").
fn reference_files_with(key: &str) -> Vec<(PathBuf, Value)> {
    let dir = common::reference_dir();
    common::json_files(&dir)
        .into_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let value = parse_value(&path.display().to_string(), &bytes).unwrap_or_else(|e| panic!("{e}"));
            value.get(key).is_some().then_some((path, value))
        })
        .collect()
}

/// Reference files that pyhf 0.7.6 itself refuses (`pyhf.Workspace(spec)` raises), with the
/// start of the error we must give: the same place pyhf's schema validation names.
const PYHF_REJECTS: &[(&str, &str)] = &[(
    // A ROOT-style `constraint` in a parameter configuration: not in pyhf's schema.
    "small/histfactory_workspace.json",
    "measurements[0].config.parameters[1].constraint: unknown field `constraint`",
)];

#[test]
fn every_reference_workspace_loads_and_validates() {
    let dir = common::reference_dir();
    let workspaces = reference_files_with("channels");
    assert!(workspaces.len() >= 20, "expected at least 20 reference workspaces, found {}", workspaces.len());
    let mut rejected = 0;
    for (path, value) in workspaces {
        let relative = path.strip_prefix(&dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        if let Some((_, expected)) = PYHF_REJECTS.iter().find(|(file, _)| *file == relative) {
            let e = LoadedWorkspace::from_path(&path).expect_err("pyhf rejects this workspace");
            assert!(e.to_string().starts_with(&format!("{}: {expected}", path.display())), "{e}");
            rejected += 1;
            continue;
        }
        let loaded = LoadedWorkspace::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.value, value, "{}", path.display());
        assert!(!loaded.workspace.channels.is_empty());
        // The typed workspace written back is the same JSON (numbers compared as doubles).
        let rewritten = serde_json::to_value(&loaded.workspace).expect("serialises");
        let reread: fitfleet_engine::spec::Workspace = serde_json::from_value(rewritten).expect("reads back");
        assert_eq!(reread, loaded.workspace, "{}", path.display());
    }
    assert_eq!(rejected, PYHF_REJECTS.len(), "a workspace pyhf rejects is missing from {}", dir.display());
}

#[test]
fn every_patch_of_every_reference_patchset_applies_and_validates() {
    let patchsets = reference_files_with("patches");
    assert!(patchsets.len() >= 5, "expected at least 5 reference patchsets, found {}", patchsets.len());
    let mut applied = 0;
    for (path, _) in patchsets {
        let set = PatchSet::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
        let background =
            LoadedWorkspace::from_path(path.with_file_name("BkgOnly.json")).unwrap_or_else(|e| panic!("{e}"));
        set.verify_digest(&background.value).unwrap_or_else(|e| panic!("{e}"));
        for patch in set.patches() {
            let ws = set.apply(&background.value, patch).unwrap_or_else(|e| panic!("{e}"));
            // The typed short way (every published patch only adds samples) gives the very
            // workspace that patching the JSON and typing it again gives.
            let typed = set.apply_to(&background, patch).unwrap_or_else(|e| panic!("{e}"));
            assert!(typed == ws, "{}: patch {} applied to the typed workspace differs", path.display(), patch.name());
            assert!(!ws.channels.is_empty());
            assert_eq!(set.get(patch.name()).expect("by name").index, patch.index);
            assert_eq!(set.by_values(patch.values()).expect("by values").index, patch.index);
            applied += 1;
        }
    }
    assert!(applied >= 800, "only {applied} patches applied");
}

/// Python (standard library only) applies the `add` and `remove` operations the published
/// patchsets use and digests the result, as an independent check of the patched JSON.
fn python_patched_digests(workspace: &Path, patchset: &Path, names: &[&str]) -> Vec<String> {
    let script = r#"
import hashlib, json, sys
ws0 = json.load(open(sys.argv[1]))
ps = json.load(open(sys.argv[2]))
by_name = {p['metadata']['name']: p['patch'] for p in ps['patches']}
def walk(doc, parts):
    for part in parts:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part.replace('~1', '/').replace('~0', '~')]
    return doc
for name in sys.argv[3:]:
    ws = json.loads(json.dumps(ws0))
    for op in by_name[name]:
        parts = op['path'].split('/')[1:]
        parent, last = walk(ws, parts[:-1]), parts[-1]
        if op['op'] == 'add':
            if isinstance(parent, list):
                parent.insert(len(parent) if last == '-' else int(last), op['value'])
            else:
                parent[last] = op['value']
        elif op['op'] == 'remove':
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise SystemExit('unexpected op ' + op['op'])
    print(hashlib.sha256(json.dumps(ws, sort_keys=True, ensure_ascii=False).encode('utf8')).hexdigest())
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(workspace)
        .arg(patchset)
        .args(names)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8").lines().map(str::to_string).collect()
}

#[test]
fn patched_json_equals_pythons() {
    for (path, _) in reference_files_with("patches") {
        let set = PatchSet::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
        let ws_path = path.with_file_name("BkgOnly.json");
        let background = LoadedWorkspace::from_path(&ws_path).unwrap_or_else(|e| panic!("{e}"));
        let names = set.patch_names();
        let picked = [names[0], names[names.len() / 2], names[names.len() - 1]];
        let expected = python_patched_digests(&ws_path, &path, &picked);
        for (name, expected) in picked.iter().zip(expected) {
            let patched = set.patched_value(&background.value, set.get(name).unwrap()).unwrap();
            assert_eq!(digest(&patched), expected, "{} {name}", path.display());
        }
    }
}

#[test]
fn every_case_of_the_reference_answers_loads() {
    let dir = common::reference_dir();
    let cases = parse_value("cases.json", &std::fs::read(dir.join("cases.json")).expect("cases.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let cases = cases["cases"].as_array().expect("a list of cases");
    assert!(cases.len() >= 40);
    for case in cases {
        let file = |key: &str| case[key].as_str().map(|f| dir.join(f));
        let patchset = file("patchset");
        let loaded = load_workspace_with_patch(
            file("workspace").expect("a workspace"),
            patchset.as_deref(),
            case["patch"].as_str(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case["id"]));
        assert_eq!(loaded.patch.as_deref(), case["patch"].as_str());
    }
}

#[test]
fn the_largest_patchset_is_quick() {
    // 1Lbb: a 14 MB patchset of 125 patches. Parse once, digest, apply one patch.
    let ws = common::reference_file("atlas-susy-2019-08-1lbb/BkgOnly.json");
    let ps = common::reference_file("atlas-susy-2019-08-1lbb/patchset.json");
    let start = Instant::now();
    let loaded =
        load_workspace_with_patch(&ws, Some(&ps), Some("C1N2_Wh_hbb_700_150")).unwrap_or_else(|e| panic!("{e}"));
    let elapsed = start.elapsed();
    eprintln!("1Lbb: workspace + patchset + digest + one patch in {elapsed:?}");
    assert_eq!(loaded.background_digest.len(), 64);
    // Generous for a loaded two-core machine; typically a few hundred milliseconds.
    assert!(elapsed.as_secs_f64() < 5.0, "took {elapsed:?}");
}

#[test]
fn a_patch_is_found_by_its_name_or_by_its_values_as_pyhf_finds_it() {
    let set = PatchSet::from_path(common::reference_file("atlas-susy-2019-08-1lbb/patchset.json")).unwrap();
    let by_name = set.find("C1N2_Wh_hbb_1000_0").unwrap();
    for key in ["1000,0", "1000, 0", "1000.0,0.0", " 1000 ,0 "] {
        assert_eq!(set.find(key).unwrap().name(), by_name.name(), "{key}");
    }
    let e = set.find("1000,1").unwrap_err().to_string();
    assert!(e.contains("no patch with values") && e.contains("closest: C1N2_Wh_hbb_1000_0"), "{e}");
    let e = set.find("C1N2_Wh_hbb_1000_O").unwrap_err().to_string();
    assert!(e.contains("no patch named \"C1N2_Wh_hbb_1000_O\"") && e.contains("C1N2_Wh_hbb_1000_0"), "{e}");
}
