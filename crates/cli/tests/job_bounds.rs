//! Every count a job can name is bounded before memory is taken, with the bounds of
//! `fitfleet-protocol` that workers use too: the toys of a patch (`MAX_TOYS_PER_PATCH`), the
//! tasks of a job (`MAX_TASKS_PER_JOB`), and the toys of the in-process commands (`Work::check`,
//! `MAX_TOYS_PER_TASK`). No services needed: every refusal comes before a connection.
mod common;

use std::process::Command;

/// Run, expect exit code 2 (not a panic) and an error naming every one of `needles`.
fn refused(cmd: &mut Command, needles: &[&str]) -> String {
    let (out, stdout, stderr) = common::run(cmd);
    assert_eq!(out.status.code(), Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    for n in needles {
        assert!(stderr.contains(n), "the error names {n:?}: {stderr}");
    }
    stderr
}

fn batch(command: &str) -> Command {
    let mut cmd = common::fitfleet(None);
    cmd.arg(command).arg(common::pallet_workspace()).arg("--patchset").arg(common::pallet_patchset());
    cmd
}

#[test]
fn run_and_submit_refuse_2_to_the_63_toys_per_patch_without_a_panic() {
    for command in ["run", "submit"] {
        refused(
            batch(command).args(["--calctype", "toys", "--ntoys", "9223372036854775808"]),
            &["job.ntoys is 9223372036854775808 toys per patch, not from 1 to 10000000", "(--ntoys)"],
        );
    }
}

#[test]
fn run_refuses_more_shards_than_a_job_may_have_before_reading_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    // A workspace that does not exist: the bound is checked before any input is read.
    let mut cmd = common::fitfleet(None);
    cmd.arg("run").arg(dir.path().join("missing.json"));
    cmd.args(["--calctype", "toys", "--ntoys", "100001", "--toys-per-task", "1", "--out"]).arg(&out);
    let stderr = refused(
        &mut cmd,
        &[
            "job.tasks is 100001 per patch (100001 toys in shards of 1), more than the 100000 tasks a job may have",
            "--ntoys, --toys-per-task, --patch",
        ],
    );
    assert!(!stderr.contains("missing.json"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn run_refuses_more_tasks_than_a_job_may_have_over_all_patches() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    // 2000 shards per patch are allowed; times the pallet's 54 patches they are not.
    refused(
        batch("run").args(["--calctype", "toys", "--ntoys", "2000", "--toys-per-task", "1", "--out"]).arg(&out),
        &[
            "job.tasks is 108000 (54 patches x 2000 tasks each), more than the 100000 tasks a job may have",
            "--ntoys, --toys-per-task, --patch",
        ],
    );
    assert!(!out.exists());
}

#[test]
fn in_process_commands_refuse_work_with_the_workers_words() {
    let cls = |extra: &[&str]| {
        let mut cmd = common::fitfleet(None);
        cmd.arg("cls").arg(common::pallet_workspace()).args(extra);
        cmd
    };
    refused(
        &mut cls(&["--calctype", "toys", "--ntoys", "2000000"]),
        &["work.calculator.ntoys is 2000000 toys, not from 1 to 1000000", "(--ntoys)"],
    );
    refused(
        &mut cls(&["--calctype", "toys", "--ntoys", "18446744073709551615"]),
        &["work.calculator.ntoys is 18446744073709551615 toys"],
    );
    refused(&mut cls(&["--poi", "inf"]), &["work.poi is inf, not a finite number", "(--poi)"]);
    let mut limit = common::fitfleet(None);
    limit.arg("upper-limit").arg(common::pallet_workspace()).args(["--alpha", "1.5"]);
    refused(&mut limit, &["work.alpha is 1.5, not between 0 and 1", "(--alpha)"]);
}
