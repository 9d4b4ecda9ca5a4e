//! `fitfleet cls`, `upper-limit` and `significance`: pyhf's keys, fitfleet's engine. The work is
//! checked as a worker checks it ([`Work::check`]), so what runs here also runs on the fleet.
use std::process::ExitCode;

use anyhow::Result;
use fitfleet_engine::infer::calculators::AsymptoticCalculator;
use fitfleet_engine::infer::{
    Calculator, FitOptions, HypotestOptions, UpperLimitOptions, hypotest, intervals, significance as discovery,
};
use fitfleet_protocol::Work;
use serde_json::json;

use crate::args::{ClsArgs, SignificanceArgs, UpperLimitArgs};
use crate::{input, output, tasks};

pub fn cls(args: &ClsArgs) -> Result<ExitCode> {
    // The work a fleet would be given, refused by the workers' own check before anything is read.
    let work =
        Work::Hypotest { poi: args.poi.poi, test_stat: args.test.test_stat.into(), calculator: args.test.calculator() };
    tasks::check_work(&work)?;
    let loaded = input::load(&args.model)?;
    let options = HypotestOptions {
        test_stat: args.test.test_stat.into(),
        calculator: args.test.calculator(),
        fit: FitOptions::default(),
    };
    let r = match options.calculator {
        Calculator::Toys { ntoys, seed } => {
            crate::toys_local::hypotest(&loaded.compiled, &loaded.data, args.poi.poi, options.test_stat, ntoys, seed)?
        }
        Calculator::Asymptotics => hypotest(&loaded.compiled, &loaded.data, args.poi.poi, &options)?,
    };
    let mut doc = json!({
        "CLs_obs": r.cls_obs,
        "CLs_exp": r.cls_exp,
        "CLsb_obs": r.clsb_obs,
        "CLb_obs": r.clb_obs,
        "mu": r.mu,
        "test_stat": r.test_stat,
        "test_stat_obs": r.test_stat_obs,
    });
    if let Some(toys) = r.toys {
        doc["toys"] = serde_json::to_value(toys)?;
        if toys.failed > 0 {
            let drawn = toys.signal_plus_background + toys.background_only;
            eprintln!("fitfleet: {} of {drawn} toys were dropped: their fits did not converge", toys.failed);
        }
    }
    output::json(&doc, args.output.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

pub fn upper_limit(args: &UpperLimitArgs) -> Result<ExitCode> {
    let grid = args.limit.grid()?;
    let work = Work::UpperLimit {
        alpha: args.limit.alpha.alpha,
        test_stat: args.test_stat.into(),
        calculator: Calculator::Asymptotics,
        scan: grid,
    };
    tasks::check_work(&work)?;
    let loaded = input::load(&args.model)?;
    let scan = grid.map(|g| intervals::linspace(g.start, g.stop, g.points as usize));
    let calc =
        AsymptoticCalculator::new(&loaded.compiled, &loaded.data, args.test_stat.into(), &FitOptions::default())?;
    let options = UpperLimitOptions { alpha: args.limit.alpha.alpha, scan, ..Default::default() };
    let r = fitfleet_engine::infer::upper_limit(&calc, &options)?;
    for note in &r.notes {
        eprintln!("fitfleet: {note}");
    }
    output::json(&r, args.output.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

pub fn significance(args: &SignificanceArgs) -> Result<ExitCode> {
    let loaded = input::load(&args.model)?;
    let r = discovery(&loaded.compiled, &loaded.data, &FitOptions::default())?;
    output::json(&r, args.output.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
