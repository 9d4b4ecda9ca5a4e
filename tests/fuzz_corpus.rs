//! Replays the fuzz corpora (fuzz/corpus/<target>/) and the inputs that once crashed a target
//! (fuzz/regressions/<target>/) through the very functions the libFuzzer targets run
//! (fuzz/src/harness.rs), as a plain `cargo test`: no nightly flags, no cargo-fuzz. A panic
//! names the file. (No services needed.)
#[path = "../fuzz/src/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    assert!(files.len() >= 5, "fuzz/corpus/{target}: expected a seed corpus, found {} files", files.len());
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        if let Err(panic) = std::panic::catch_unwind(|| run(&bytes)) {
            let what =
                panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
            panic!("{}: the {target} target panics: {}", file.display(), what.unwrap_or_default());
        }
    }
    eprintln!("{target}: {} inputs replayed", files.len());
}

#[test]
fn workspace_corpus_replays() {
    replay("workspace", harness::workspace);
}

#[test]
fn patchset_corpus_replays() {
    replay("patchset", harness::patchset);
}

#[test]
fn task_corpus_replays() {
    replay("task", harness::task);
}

#[test]
fn the_fuzzed_background_workspace_is_valid() {
    // Otherwise the patchset and task targets would only ever exercise error paths.
    fitfleet_engine::spec::LoadedWorkspace::from_slice("fuzz background", harness::BACKGROUND.as_bytes()).unwrap();
}
