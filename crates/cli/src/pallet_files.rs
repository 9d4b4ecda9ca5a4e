//! Pallets as HEPData publishes them: the WORKSPACE argument of every command may be a
//! workspace file, a directory or a `.tar.gz`/`.tgz`/`.tar` archive holding the
//! background-only workspace (`BkgOnly.json`) and the patchset (`patchset.json`), either of
//! them gzip-compressed (`.json.gz`), at any depth (archives usually hold one folder).
//!
//! A `--patchset` given explicitly wins over the one found. From an archive only the two files
//! are unpacked (to a temporary directory removed when the [`Inputs`] is dropped), each bounded
//! by [`MAX_DECOMPRESSED_BYTES`]; what is missing or ambiguous is an error naming the archive
//! and what it holds.
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fitfleet_engine::spec::MAX_DECOMPRESSED_BYTES;

/// The background-only workspace's file name in published pallets.
const WORKSPACE_NAMES: [&str; 2] = ["BkgOnly.json", "BkgOnly.json.gz"];
/// The patchset's file name in published pallets.
const PATCHSET_NAMES: [&str; 2] = ["patchset.json", "patchset.json.gz"];
/// How deep in a directory the two files are looked for.
const MAX_DEPTH: usize = 4;

/// The files a command reads, wherever they came from.
#[derive(Debug)]
pub struct Inputs {
    pub workspace: PathBuf,
    pub patchset: Option<PathBuf>,
    /// Holds the files unpacked from an archive; removed when dropped.
    _unpacked: Option<tempfile::TempDir>,
}

/// What the WORKSPACE argument (and `--patchset`, if given) point to: plain files as they are;
/// for a directory or an archive, the pallet's two files in it.
pub fn resolve(workspace: &Path, patchset: Option<&Path>) -> Result<Inputs> {
    let explicit = patchset.map(Path::to_path_buf);
    if workspace.is_dir() {
        let (ws, ps) = find_in_directory(workspace)?;
        return Ok(Inputs { workspace: ws, patchset: explicit.or(Some(ps)), _unpacked: None });
    }
    if is_archive(workspace) {
        let dir =
            tempfile::Builder::new().prefix("fitfleet-pallet-").tempdir().context("making a temporary directory")?;
        let (ws, ps) = unpack(workspace, dir.path())?;
        return Ok(Inputs { workspace: ws, patchset: explicit.or(Some(ps)), _unpacked: Some(dir) });
    }
    Ok(Inputs { workspace: workspace.to_path_buf(), patchset: explicit, _unpacked: None })
}

fn is_archive(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".tar")
}

/// Whether a file name is one of `names` (case-insensitive, as HEPData's names vary).
fn named(file: &str, names: &[&str]) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(file))
}

/// The one file among `found` for `what`, or an error naming `source`, the candidates and
/// what else was seen.
fn one(source: &Path, what: &str, names: &[&str], found: Vec<PathBuf>, seen: &[String]) -> Result<PathBuf> {
    match found.len() {
        1 => Ok(found.into_iter().next().expect("one")),
        0 => bail!(
            "{}: no {what} ({}) in it; it holds: {}",
            source.display(),
            names.join(" or "),
            if seen.is_empty() { "nothing".to_string() } else { seen.join(", ") }
        ),
        _ => bail!(
            "{}: several {what} files ({}): give the one to use as a file",
            source.display(),
            found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The pallet's two files in a directory (searched to [`MAX_DEPTH`]).
fn find_in_directory(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let mut files = Vec::new();
    walk(dir, 0, &mut files).with_context(|| format!("{}: cannot read the directory", dir.display()))?;
    let pick = |names: &[&str]| -> Vec<PathBuf> {
        files
            .iter()
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| named(n, names)))
            .cloned()
            .collect()
    };
    let seen: Vec<String> = files.iter().map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string()).collect();
    let ws = one(dir, "background-only workspace", &WORKSPACE_NAMES, pick(&WORKSPACE_NAMES), &seen)?;
    let ps = one(dir, "patchset", &PATCHSET_NAMES, pick(&PATCHSET_NAMES), &seen)?;
    Ok((ws, ps))
}

fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let kind = e.file_type()?;
        if kind.is_dir() && depth + 1 < MAX_DEPTH {
            walk(&path, depth + 1, files)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Unpack the pallet's two files from `archive` into `into`.
fn unpack(archive: &Path, into: &Path) -> Result<(PathBuf, PathBuf)> {
    let file =
        std::fs::File::open(archive).with_context(|| format!("{}: cannot read the archive", archive.display()))?;
    let mut head = [0u8; 2];
    let gzipped = {
        let mut f = &file;
        f.read_exact(&mut head).is_ok() && head == [0x1f, 0x8b]
    };
    let file = std::fs::File::open(archive)?;
    let reader: Box<dyn Read> =
        if gzipped { Box::new(flate2::read::MultiGzDecoder::new(file)) } else { Box::new(file) };
    let mut tar = tar::Archive::new(reader);
    let (mut workspaces, mut patchsets, mut seen) = (Vec::new(), Vec::new(), Vec::new());
    let mut unpacked = 0;
    let entries = tar.entries().with_context(|| format!("{}: not a tar archive", archive.display()))?;
    for (i, entry) in entries.enumerate() {
        let mut entry = entry.with_context(|| format!("{}: unreadable archive entry {i}", archive.display()))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().with_context(|| format!("{}: entry {i} has no usable name", archive.display()))?;
        let shown = path.display().to_string();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
        seen.push(shown.clone());
        let list = if named(&name, &WORKSPACE_NAMES) {
            &mut workspaces
        } else if named(&name, &PATCHSET_NAMES) {
            &mut patchsets
        } else {
            continue;
        };
        // Unpacked under a name of our own: an entry's path never chooses where it is written.
        unpacked += 1;
        let target = into.join(format!("{unpacked}-{name}"));
        let mut out = std::fs::File::create(&target).with_context(|| format!("writing {}", target.display()))?;
        let copied = std::io::copy(&mut (&mut entry).take(MAX_DECOMPRESSED_BYTES + 1), &mut out)
            .with_context(|| format!("{}: cannot unpack {shown}", archive.display()))?;
        if copied > MAX_DECOMPRESSED_BYTES {
            bail!("{}: {shown} is larger than {MAX_DECOMPRESSED_BYTES} bytes", archive.display());
        }
        list.push((PathBuf::from(&shown), target));
    }
    let choose = |what: &str, names: &[&str], found: Vec<(PathBuf, PathBuf)>| -> Result<PathBuf> {
        let shown: Vec<PathBuf> = found.iter().map(|(s, _)| s.clone()).collect();
        one(archive, what, names, shown.clone(), &seen)?;
        Ok(found.into_iter().next().expect("one").1)
    };
    let ws = choose("background-only workspace", &WORKSPACE_NAMES, workspaces)?;
    let ps = choose("patchset", &PATCHSET_NAMES, patchsets)?;
    Ok((ws, ps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (name, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *bytes).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn an_archive_gives_its_two_files_and_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("pallet.tar.gz");
        std::fs::write(
            &archive,
            tar_gz(&[
                ("1Lbb/README.md", b"hi"),
                ("1Lbb/BkgOnly.json", b"{\"ws\": 1}"),
                ("1Lbb/patchset.json", b"{\"ps\": 2}"),
            ]),
        )
        .unwrap();
        let inputs = resolve(&archive, None).unwrap();
        assert_eq!(std::fs::read(&inputs.workspace).unwrap(), b"{\"ws\": 1}");
        assert_eq!(std::fs::read(inputs.patchset.as_ref().unwrap()).unwrap(), b"{\"ps\": 2}");
        let unpacked = inputs.workspace.parent().unwrap().to_path_buf();
        drop(inputs);
        assert!(!unpacked.exists(), "the unpacked files go with the inputs");

        std::fs::write(&archive, tar_gz(&[("a/BkgOnly.json", b"{}"), ("notes.txt", b"")])).unwrap();
        let e = resolve(&archive, None).unwrap_err().to_string();
        assert!(
            e.contains("no patchset (patchset.json or patchset.json.gz) in it; it holds: a/BkgOnly.json, notes.txt"),
            "{e}"
        );
        std::fs::write(
            &archive,
            tar_gz(&[("a/BkgOnly.json", b"{}"), ("b/BkgOnly.json", b"{}"), ("patchset.json", b"{}")]),
        )
        .unwrap();
        let e = resolve(&archive, None).unwrap_err().to_string();
        assert!(e.contains("several background-only workspace files (a/BkgOnly.json, b/BkgOnly.json)"), "{e}");
        // An explicit patchset wins.
        let explicit = dir.path().join("mine.json");
        std::fs::write(&archive, tar_gz(&[("BkgOnly.json", b"{}"), ("patchset.json", b"{}")])).unwrap();
        assert_eq!(resolve(&archive, Some(&explicit)).unwrap().patchset, Some(explicit));
    }

    #[test]
    fn a_directory_gives_its_two_files_and_a_file_is_itself() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pallet")).unwrap();
        std::fs::write(dir.path().join("pallet/BkgOnly.json.gz"), b"").unwrap();
        std::fs::write(dir.path().join("pallet/patchset.json"), b"").unwrap();
        let inputs = resolve(dir.path(), None).unwrap();
        assert_eq!(inputs.workspace, dir.path().join("pallet/BkgOnly.json.gz"));
        assert_eq!(inputs.patchset, Some(dir.path().join("pallet/patchset.json")));
        let file = dir.path().join("pallet/patchset.json");
        let inputs = resolve(&file, None).unwrap();
        assert_eq!((inputs.workspace, inputs.patchset), (file, None));
    }
}
