//! Tasks and results through MessagePack, and what decoding says about bad bytes.
//! (No services needed.)

use fitfleet_engine::infer::diagnostics::Impact;
use fitfleet_engine::infer::{
    Calculator, FitResult, HypotestResult, ScanPoint, SignificanceResult, TestStatistic, ToyCounts, ToyShard,
    UpperLimitResult,
};
use fitfleet_engine::model::{HistosysInterp, ModelSettings, NormsysInterp};
use fitfleet_protocol::{
    DecodeError, JobId, Outcome, PROTOCOL_VERSION, Patch, PatchValue, ScanGrid, Status, Task, TaskResult, Timings,
    Work, WorkerId, WorkspaceDigest,
};
use serde::Serialize;

fn sample_task(work: Work) -> Task {
    let ops = r#"[{"op":"add","path":"/channels/0/samples/-","value":{"name":"signal","data":[0.1,2e-7,1.5e300],"modifiers":[{"name":"mu_SIG","type":"normfactor","data":null}]}}]"#;
    Task::new(
        JobId::parse("0123456789abcdef").unwrap(),
        WorkspaceDigest::of(b"workspace bytes"),
        Some(Patch {
            name: "C1N2_Wh_hbb_1000_0".into(),
            values: vec![PatchValue::Number(1000.0), PatchValue::Number(0.0), PatchValue::Text("Wh".into())],
            operations: ops.into(),
        }),
        ModelSettings {
            measurement: Some("NormalMeasurement".into()),
            normsys: NormsysInterp::Code1,
            histosys: HistosysInterp::Code0,
        },
        work,
        1_700_000_000_123,
    )
}

fn every_work() -> Vec<Work> {
    vec![
        Work::Hypotest { poi: 1.0, test_stat: TestStatistic::QmuTilde, calculator: Calculator::Asymptotics },
        Work::Hypotest {
            poi: 0.3,
            test_stat: TestStatistic::Qmu,
            calculator: Calculator::Toys { ntoys: 2000, seed: 42 },
        },
        Work::UpperLimit {
            alpha: 0.05,
            test_stat: TestStatistic::QmuTilde,
            calculator: Calculator::Asymptotics,
            scan: Some(ScanGrid { start: 0.0, stop: 5.0, points: 21 }),
        },
        Work::UpperLimit {
            alpha: 0.05,
            test_stat: TestStatistic::Tmu,
            calculator: Calculator::Asymptotics,
            scan: None,
        },
        Work::Fit,
        Work::Toys { poi: 1.0, test_stat: TestStatistic::Q0, seed: u64::MAX, first: 5000, count: 1000 },
        Work::Significance,
        Work::Impacts { parameters: vec!["alpha_JES".into(), "staterror_SR[3]".into(), "λ".into()] },
    ]
}

fn every_outcome() -> Vec<Outcome> {
    vec![
        Outcome::Hypotest(HypotestResult {
            mu: 1.0,
            test_stat: TestStatistic::QmuTilde,
            cls_obs: 0.052,
            cls_exp: [0.001, 0.01, 0.05, 0.2, 0.5],
            clsb_obs: 0.03,
            clb_obs: 0.6,
            test_stat_obs: 2.7,
            mu_hat: -0.1,
            toys: None,
        }),
        Outcome::Hypotest(HypotestResult {
            mu: 1.0,
            test_stat: TestStatistic::QmuTilde,
            cls_obs: 0.04,
            cls_exp: [0.001, 0.01, 0.05, 0.2, 0.5],
            clsb_obs: 0.02,
            clb_obs: 0.5,
            test_stat_obs: 2.7,
            mu_hat: 0.3,
            toys: Some(ToyCounts { signal_plus_background: 2000, background_only: 2000, failed: 3 }),
        }),
        Outcome::UpperLimit(UpperLimitResult {
            alpha: 0.05,
            obs: Some(1.23),
            exp: [Some(0.6), Some(0.8), Some(1.1), None, Some(2.0)],
            scan: Some(vec![ScanPoint { mu: 0.0, cls_obs: 1.0, cls_exp: [1.0; 5] }]),
            notes: vec!["+1 sigma expected limit above the scanned range".into()],
        }),
        Outcome::UpperLimit(UpperLimitResult { alpha: 0.05, obs: None, exp: [None; 5], scan: None, notes: vec![] }),
        Outcome::Fit(FitResult {
            par_names: vec!["mu_SIG".into(), "lumi".into()],
            bestfit: vec![0.5, 1.0],
            uncertainties: vec![0.2, 0.017],
            twice_nll: 123.456,
            poi: Some("mu_SIG".into()),
            converged: true,
            iterations: 17,
            message: "converged".into(),
        }),
        Outcome::Toys(ToyShard {
            mu: 1.0,
            test_stat: TestStatistic::QmuTilde,
            seed: 7,
            first: 0,
            test_stat_obs: 0.8,
            mu_hat: 0.4,
            signal_plus_background: vec![0.0, 1.5, f64::INFINITY],
            background_only: vec![3.0, f64::MIN_POSITIVE],
            failed: 1,
        }),
        Outcome::Significance(SignificanceResult {
            q0_obs: 9.0,
            p0_obs: 0.00135,
            z_obs: 3.0,
            p0_exp: 0.02,
            z_exp: 2.05,
        }),
        Outcome::Impacts(vec![Impact {
            parameter: "alpha_JES".into(),
            bestfit: -0.17,
            uncertainty: 0.94,
            prefit_width: 1.0,
            pull: Some(-0.17),
            constraint: Some(0.94),
            postfit_up: -0.139,
            postfit_down: 0.118,
            prefit_up: None,
            prefit_down: Some(f64::MIN_POSITIVE),
            fixed_at: vec![0.77, -1.11],
            twice_nll: vec![19.95, f64::INFINITY],
            converged: false,
        }]),
    ]
}

#[test]
fn every_task_round_trips_through_messagepack() {
    for work in every_work() {
        let task = sample_task(work);
        let bytes = task.encode().unwrap();
        let back = Task::decode(&bytes).unwrap();
        assert_eq!(back, task);
        // The patch operations come back byte for byte.
        assert_eq!(back.patch.as_ref().unwrap().operations, task.patch.as_ref().unwrap().operations);
    }
}

#[test]
fn every_result_round_trips_through_messagepack() {
    let task = sample_task(Work::Fit);
    let timings =
        Timings { queue_wait_s: 0.5, workspace_fetch_s: 0.01, compile_s: 0.0, model_cache_hit: true, fit_s: 3.25 };
    for outcome in every_outcome() {
        let r = TaskResult::succeeded(&task, outcome, WorkerId { host: "node7".into(), pid: 4242 }, 2, timings);
        let back = TaskResult::decode(&r.encode().unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.patch.as_ref().unwrap().name, "C1N2_Wh_hbb_1000_0");
    }
    let failed = TaskResult::failed(&task, "fit did not converge", WorkerId::current(), 1, Timings::default());
    let back = TaskResult::decode(&failed.encode().unwrap()).unwrap();
    assert_eq!(back.status, Status::Failed { reason: "fit did not converge".into() });
    assert!(back.outcome.is_none());
}

#[test]
fn nan_survives_the_round_trip() {
    let task = sample_task(Work::Hypotest {
        poi: f64::NAN,
        test_stat: TestStatistic::Q0,
        calculator: Calculator::Asymptotics,
    });
    let back = Task::decode(&task.encode().unwrap()).unwrap();
    let Work::Hypotest { poi, .. } = back.work else { panic!("work kind changed") };
    assert!(poi.is_nan());
}

#[test]
fn task_ids_are_deterministic_and_distinguish_work() {
    let a = sample_task(Work::Fit);
    let b = sample_task(Work::Fit);
    assert_eq!(a.task_id, b.task_id, "same job, patch and work: same id");
    let c = sample_task(Work::Significance);
    assert_ne!(a.task_id, c.task_id);
    let d = sample_task(Work::Hypotest {
        poi: 1.0,
        test_stat: TestStatistic::QmuTilde,
        calculator: Calculator::Asymptotics,
    });
    let e = sample_task(Work::Hypotest {
        poi: 1.0 + 1e-15,
        test_stat: TestStatistic::QmuTilde,
        calculator: Calculator::Asymptotics,
    });
    assert_ne!(d.task_id, e.task_id, "POI values differing in the last bits are different work");
    let other_job = Task::derive_id(&JobId::parse("fedcba9876543210").unwrap(), Some("C1N2_Wh_hbb_1000_0"), &Work::Fit);
    assert_ne!(a.task_id, other_job);
    assert_eq!(a.task_id.as_str().len(), 32);
}

#[test]
fn the_work_digest_covers_everything_a_task_asks_but_its_publication_time() {
    let a = sample_task(Work::Fit);
    let digest = a.work_digest();
    assert_eq!(digest.len(), 64);
    assert_eq!(Task::decode(&a.encode().unwrap()).unwrap().work_digest(), digest, "stable through the queue");
    assert_eq!(Task { enqueued_at_ms: 1, ..a.clone() }.work_digest(), digest, "published again later");
    // A forger keeping the ids but changing what is asked changes the digest.
    let mut changes: Vec<(&str, Task)> = Vec::new();
    let mut t = a.clone();
    t.patch.as_mut().unwrap().operations = t.patch.as_ref().unwrap().operations.replace("0.1", "0.2");
    changes.push(("patch operations", t));
    let mut t = a.clone();
    t.patch.as_mut().unwrap().values[0] = PatchValue::Number(900.0);
    changes.push(("patch values", t));
    changes.push(("no patch", Task { patch: None, ..a.clone() }));
    changes.push(("settings", Task { settings: ModelSettings::default(), ..a.clone() }));
    changes.push(("work", Task { work: Work::Significance, ..a.clone() }));
    changes.push(("workspace", Task { workspace: WorkspaceDigest::of(b"other bytes"), ..a.clone() }));
    changes.push(("job", Task { job_id: JobId::parse("fedcba9876543210").unwrap(), ..a.clone() }));
    changes.push(("task id", Task { task_id: sample_task(Work::Significance).task_id, ..a.clone() }));
    for (what, t) in changes {
        assert_ne!(t.work_digest(), digest, "{what}");
    }
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    v: u32,
    kind: &'a str,
    body: T,
}

#[test]
fn another_protocol_version_is_refused_by_number() {
    let task = sample_task(Work::Fit);
    let bytes = rmp_serde::to_vec_named(&Envelope { v: 3, kind: "task", body: &task }).unwrap();
    let err = Task::decode(&bytes).unwrap_err();
    assert_eq!(err, DecodeError::Version { kind: "task", reader: "worker", found: 3, expected: PROTOCOL_VERSION });
    assert_eq!(err.to_string(), format!("task: protocol version 3, this worker speaks {PROTOCOL_VERSION}"));

    // A future version whose body no longer fits is still reported by its version.
    let bytes = rmp_serde::to_vec_named(&Envelope { v: 2, kind: "result", body: "something else" }).unwrap();
    assert_eq!(
        TaskResult::decode(&bytes).unwrap_err().to_string(),
        format!("result: protocol version 2, this client speaks {PROTOCOL_VERSION}")
    );
}

#[test]
fn truncated_bytes_say_where_they_end() {
    let bytes = sample_task(Work::Fit).encode().unwrap();
    for cut in [1, 17, bytes.len() / 2, bytes.len() - 1] {
        let err = Task::decode(&bytes[..cut]).unwrap_err();
        assert_eq!(err, DecodeError::Truncated { kind: "task", at: cut as u64 }, "cut at {cut}");
    }
    assert!(
        Task::decode(&bytes[..17]).unwrap_err().to_string().starts_with("task: truncated MessagePack at byte 17"),
        "{}",
        Task::decode(&bytes[..17]).unwrap_err()
    );
}

#[test]
fn garbage_is_refused_with_a_clear_error() {
    assert_eq!(Task::decode(b"").unwrap_err(), DecodeError::Empty { kind: "task" });
    let err = Task::decode(b"{\"job_id\": \"x\"}").unwrap_err();
    assert_eq!(err, DecodeError::NotAMap { kind: "task", first: b'{' });
    assert!(err.to_string().contains("not a fitfleet message"), "{err}");
    // A map marker followed by a byte MessagePack never uses.
    let err = Task::decode(&[0x81, 0xc1, 0x00]).unwrap_err();
    assert!(matches!(err, DecodeError::Malformed { at: 2, .. }), "{err:?}");
    // A well-formed map that is not a fitfleet envelope.
    let err = Task::decode(&rmp_serde::to_vec_named(&serde_json::json!({"hello": 1})).unwrap()).unwrap_err();
    assert_eq!(err, DecodeError::NoVersion { kind: "task" });
    // Right envelope, wrong body.
    let bytes = rmp_serde::to_vec_named(&Envelope {
        v: PROTOCOL_VERSION,
        kind: "task",
        body: serde_json::json!({"job_id": "abc"}),
    })
    .unwrap();
    let err = Task::decode(&bytes).unwrap_err();
    assert!(matches!(&err, DecodeError::Malformed { detail, .. } if detail.contains("missing field")), "{err:?}");
    // Trailing bytes after a valid message.
    let mut bytes = sample_task(Work::Fit).encode().unwrap();
    let len = bytes.len() as u64;
    bytes.extend_from_slice(b"xyz");
    assert_eq!(Task::decode(&bytes).unwrap_err(), DecodeError::Trailing { kind: "task", at: len, extra: 3 });
}

#[test]
fn a_result_is_not_a_task() {
    let task = sample_task(Work::Fit);
    let r = TaskResult::failed(&task, "x", WorkerId::current(), 1, Timings::default());
    let err = Task::decode(&r.encode().unwrap()).unwrap_err();
    assert_eq!(err, DecodeError::WrongKind { expected: "task", found: "result".into() });
    assert_eq!(err.to_string(), "task: the message is a \"result\", not a task");
}

#[test]
fn scan_grid_is_a_linspace() {
    let g = ScanGrid { start: 0.0, stop: 1.0, points: 11 }.values();
    assert_eq!(g.len(), 11);
    assert_eq!(g[0], 0.0);
    assert_eq!(g[10], 1.0);
    assert!((g[3] - 0.3).abs() < 1e-15);
    assert!(ScanGrid { start: 0.0, stop: 1.0, points: 0 }.values().is_empty());
}

#[test]
fn a_message_over_max_task_bytes_is_refused_unread() {
    let bytes = sample_task(Work::Fit).encode().unwrap();
    let n = bytes.len() as u64;
    assert_eq!(Task::decode_limited(&bytes, n).unwrap(), sample_task(Work::Fit));
    let err = Task::decode_limited(&bytes, n - 1).unwrap_err();
    assert_eq!(err, DecodeError::TooLarge { kind: "task", size: n, limit: n - 1 });
    assert_eq!(
        err.to_string(),
        format!("task: the message is {n} bytes, more than the limit of {} bytes (max_task_bytes); not decoded", n - 1)
    );
    // The size is checked first: even garbage of that size reports its size, not its bytes.
    let err = Task::decode_limited(&[0xc1; 100], 99).unwrap_err();
    assert!(matches!(err, DecodeError::TooLarge { size: 100, .. }), "{err:?}");
}
