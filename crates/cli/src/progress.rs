//! Progress bars of `fitfleet run` and `fitfleet wait` (tasks finished of the job's total) and of
//! toys in `fitfleet cls`, with rate and ETA, failures in the message. Drawn on standard error, hidden when it is not a
//! terminal.
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// A bar over `total` tasks.
pub fn tasks_bar(total: u64) -> ProgressBar {
    bar(total, "tasks")
}

/// A bar over `total` toys (both hypotheses counted).
pub fn toys_bar(total: u64) -> ProgressBar {
    bar(total, "toys")
}

/// A bar over `total` steps of `unit` (e.g. the parameter variations of `fitfleet yields`).
pub fn bar_of(total: u64, unit: &str) -> ProgressBar {
    bar(total, unit)
}

fn bar(total: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit}  {{rate}}  ETA {{eta}}  {{msg}}"
        ))
        .expect("a valid template")
        .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.1}/s", state.per_sec());
        })
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The bar's message for `failed` failures so far.
pub fn failures_message(failed: u64) -> String {
    match failed {
        0 => String::new(),
        1 => "1 failed".to_string(),
        n => format!("{n} failed"),
    }
}
