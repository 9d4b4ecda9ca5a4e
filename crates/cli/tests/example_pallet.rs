//! The committed example pallet is what `fitfleet example-pallet` writes, byte for byte.
mod common;

#[test]
fn regenerating_the_example_pallet_gives_the_committed_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _, stderr) = common::run(common::fitfleet(None).args(["example-pallet", "--out-dir"]).arg(dir.path()));
    assert!(out.status.success(), "{stderr}");
    for name in ["BkgOnly.json", "patchset.json"] {
        let fresh = std::fs::read(dir.path().join(name)).unwrap();
        let committed = std::fs::read(common::pallet_dir().join(name))
            .unwrap_or_else(|e| panic!("examples/pallet/{name}: {e} (write it with `fitfleet example-pallet`)"));
        assert!(
            fresh == committed,
            "examples/pallet/{name} differs from what `fitfleet example-pallet` writes now: regenerate and commit it"
        );
    }
}
