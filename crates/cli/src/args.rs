//! Command-line flags, each defined once with its documentation. Groups of flags shared by
//! several subcommands are `#[command(flatten)]`ed into them.
use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Parser, Subcommand, ValueEnum};
use fitfleet_engine::infer::TestStatistic;
use fitfleet_engine::model::{HistosysInterp, ModelSettings, NormsysInterp};
use fitfleet_fleet::FleetArgs;

/// Hypothesis tests for every signal point of a published HistFactory likelihood (pyhf JSON),
/// on this machine or on a fleet of workers.
#[derive(Debug, Parser)]
#[command(name = "fitfleet", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More logging on stderr (-v info, -vv debug); FITFLEET_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Maximum-likelihood fit of a workspace (pyhf fit): best-fit parameters, twice NLL,
    /// uncertainties.
    Fit(FitArgs),
    /// Summarise a workspace like `pyhf inspect`: channels, samples, parameters, measurements.
    Inspect(InspectArgs),
    /// Hypothesis test at one POI value (pyhf cls): observed CLs and the expected band.
    Cls(ClsArgs),
    /// Upper limits on the POI at 95% CL (pyhf upper-limit), by root finding or over a scan.
    UpperLimit(UpperLimitArgs),
    /// Discovery significance from q0: observed and expected p0 and Z.
    Significance(SignificanceArgs),
    /// Every patch of a patchset (or the workspace alone) on this machine, one fit per core:
    /// the fleet's tasks and processing, without RabbitMQ or Redis. Writes the results document.
    Run(RunArgs),
    /// Check the inputs, upload the workspace and queue one task per patch for the fleet's
    /// workers; prints the job id.
    Submit(SubmitArgs),
    /// A job's state, counts, elapsed time and why tasks failed.
    Status(JobArgs),
    /// Follow a job to its end with a progress bar; exits non-zero if a task failed.
    Wait(WaitArgs),
    /// A job's results so far: the results document (JSON) or a table (CSV).
    Results(ResultsArgs),
    /// Recent jobs, newest first.
    Jobs(JobsArgs),
    /// Cancel a job: workers skip its remaining tasks.
    Cancel(JobArgs),
    /// Write the example pallet: a background-only workspace and a patchset of signal points
    /// over a mass plane, made by fitfleet itself.
    ExamplePallet(ExamplePalletArgs),
    /// Draw a results document: the exclusion contour over two mass labels, or the Brazil band
    /// of an upper-limit scan (PNG or SVG, by the file's extension).
    Plot(PlotArgs),
    /// Convert a results document for other tools (HistFitter's harvest JSON).
    Export(ExportArgs),
    // ---- Fit diagnostics: yields, pulls, correlations. ----
    /// Pre-fit and post-fit expected yields per channel, sample and bin, their sums with
    /// uncertainties (post-fit: from the fit's covariance), and the observed data.
    Yields(YieldsArgs),
    /// Pulls (theta_hat - theta_0) / sigma_prefit and constraints sigma_post / sigma_prefit of
    /// the constrained nuisance parameters; the POI and free parameters listed apart.
    Pulls(PullsArgs),
    /// The correlation matrix of the fitted parameters (pyhf's return_correlations).
    Correlations(CorrelationsArgs),
    /// The nuisance parameters ranked by their impact on the POI (cabinetry's ranking): the POI
    /// refitted with each fixed at its post-fit and pre-fit +-1 sigma; with --fleet the fits
    /// are the fleet's tasks.
    Ranking(RankingArgs),
    /// Profile-likelihood scan: -2 Delta ln L over a grid in one parameter (the POI by default)
    /// or two, every other parameter fitted at each point; the 68% interval of a 1D scan.
    Scan(ScanArgs),
    /// Time the model's batched likelihood on a device: the NLL with its gradient (every fit's
    /// evaluation) and the curvature pass its fits use, per batch size; says whether a GPU pays
    /// for this model and from which batch, and checks the device's numbers against the cpu's.
    DeviceTiming(DeviceTimingArgs),
    /// pyhf's workspace operations: combine, prune, rename, sort and digest, with pyhf's
    /// results (the same JSON, byte for byte) and errors.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// pyhf's patchset operations: list, extract, apply, verify and inspect.
    #[command(subcommand)]
    Patchset(PatchsetCommand),
}

// ---- Single arguments shared by several commands, each defined once. ----

/// The workspace a command reads.
#[derive(Debug, Clone, Args)]
pub struct WorkspaceArg {
    /// The workspace (pyhf JSON, or .json.gz): a full workspace, or the background-only
    /// workspace of a patchset; or a pallet as HEPData publishes it, a directory or a
    /// .tar.gz/.tgz archive holding BkgOnly.json and patchset.json (then --patchset is not
    /// needed).
    #[arg(id = "workspace", value_name = "WORKSPACE")]
    pub path: PathBuf,
}

/// The patchset made for the workspace.
#[derive(Debug, Clone, Args)]
pub struct PatchsetArg {
    /// A patchset (pyhf PatchSet JSON) made for the workspace: its patches are the signal
    /// points (with --patch to choose).
    #[arg(id = "patchset", long = "patchset", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

/// Which patches of the patchset.
#[derive(Debug, Clone, Args)]
pub struct PatchArg {
    /// A patch of the patchset (--patchset, or the one in a pallet directory or archive), by
    /// its metadata name or by its values comma-separated (`--patch 1000,0`), as pyhf's
    /// `patchset[...]` finds it (repeatable where a command runs several: `run` and `submit`
    /// take every patch by default; a single fit or test takes one).
    #[arg(id = "patch", long = "patch", value_name = "NAME|VALUES")]
    pub names: Vec<String>,
}

impl PatchArg {
    /// The one patch of a command that applies at most one; an error naming them if several.
    pub fn one(&self) -> anyhow::Result<Option<&str>> {
        match self.names.as_slice() {
            [] => Ok(None),
            [name] => Ok(Some(name)),
            several => {
                bail!("--patch: this command applies one patch, {} given ({})", several.len(), several.join(", "))
            }
        }
    }
}

/// The POI value of hypothesis tests.
#[derive(Debug, Args)]
pub struct PoiArg {
    /// The POI value tested (CLs at this signal strength).
    #[arg(long, default_value_t = 1.0)]
    pub poi: f64,
}

/// One job of the fleet.
#[derive(Debug, Args)]
pub struct JobArg {
    /// The job id `fitfleet submit` printed.
    #[arg(id = "job", value_name = "JOB")]
    pub id: String,
}

/// The results a command reads: a fleet job's, or a results document.
#[derive(Debug, Args)]
pub struct ResultsSourceArgs {
    #[command(flatten)]
    pub which: ResultsWhich,
    #[command(flatten)]
    pub connection: FleetArgs,
}

/// A job or a file, exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ResultsWhich {
    /// A fleet job's id (its results so far, read from the fleet).
    #[arg(id = "job", value_name = "JOB")]
    pub job: Option<String>,
    /// A results document (as `fitfleet results` or `run` writes it).
    #[arg(id = "results", long = "results", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

/// The test statistic of hypothesis tests and limits.
#[derive(Debug, Clone, Copy, Args)]
pub struct TestStatArg {
    /// The test statistic.
    #[arg(long, value_enum, default_value_t = TestStat::Qtilde)]
    pub test_stat: TestStat,
}

impl From<TestStatArg> for TestStatistic {
    fn from(a: TestStatArg) -> Self {
        a.test_stat.into()
    }
}

/// The significance level of CLs tests, limits and contours.
#[derive(Debug, Args)]
pub struct AlphaArg {
    /// 1 - confidence level: limits at CLs = ALPHA, contours at CLs = ALPHA.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
}

/// Which workspace, which patch, which measurement and interpolation.
#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    #[command(flatten)]
    pub patchset: PatchsetArg,
    #[command(flatten)]
    pub patch: PatchArg,
    #[command(flatten)]
    pub model_settings: ModelSettingsArgs,
    #[command(flatten)]
    pub device: DeviceArg,
}

impl ModelArgs {
    /// The same inputs as a batch of one patch (or the workspace alone), as `submit` checks
    /// and uploads them.
    pub fn batch_input(&self) -> BatchInputArgs {
        BatchInputArgs {
            workspace: self.workspace.clone(),
            patchset: self.patchset.clone(),
            patches: self.patch.clone(),
            model_settings: self.model_settings.clone(),
        }
    }
}

/// Where fits run.
#[derive(Debug, Args)]
pub struct DeviceArg {
    /// Where the model is compiled and fitted: cpu, cuda (the first NVIDIA GPU) or cuda:N; an
    /// error (exit 2) says why when this binary or machine has no such GPU
    #[arg(long, value_name = "DEVICE", env = "FITFLEET_DEVICE", default_value = "cpu")]
    pub device: String,
}

impl DeviceArg {
    /// The device, by name and opened.
    pub fn open(&self) -> anyhow::Result<(fitfleet_engine::compute::DeviceChoice, candle_core::Device)> {
        let choice: fitfleet_engine::compute::DeviceChoice = self.device.parse()?;
        Ok((choice, choice.open()?))
    }
}

impl ModelArgs {
    pub fn settings(&self) -> ModelSettings {
        self.model_settings.settings()
    }
}

/// Which measurement and which interpolation codes the model is built with.
#[derive(Debug, Clone, Args)]
pub struct ModelSettingsArgs {
    /// The measurement to use (default: the first, as pyhf).
    #[arg(long)]
    pub measurement: Option<String>,
    /// Interpolation of normsys modifiers (pyhf 0.7 default: code4).
    #[arg(long, value_enum, default_value_t = NormsysCode::Code4)]
    pub normsys_interp: NormsysCode,
    /// Interpolation of histosys modifiers (pyhf 0.7 default: code4p).
    #[arg(long, value_enum, default_value_t = HistosysCode::Code4p)]
    pub histosys_interp: HistosysCode,
}

impl ModelSettingsArgs {
    pub fn settings(&self) -> ModelSettings {
        ModelSettings {
            measurement: self.measurement.clone(),
            normsys: self.normsys_interp.into(),
            histosys: self.histosys_interp.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NormsysCode {
    Code4,
    Code1,
}

impl From<NormsysCode> for NormsysInterp {
    fn from(c: NormsysCode) -> Self {
        match c {
            NormsysCode::Code4 => NormsysInterp::Code4,
            NormsysCode::Code1 => NormsysInterp::Code1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistosysCode {
    Code4p,
    Code0,
    Code2,
}

impl From<HistosysCode> for HistosysInterp {
    fn from(c: HistosysCode) -> Self {
        match c {
            HistosysCode::Code4p => HistosysInterp::Code4p,
            HistosysCode::Code0 => HistosysInterp::Code0,
            HistosysCode::Code2 => HistosysInterp::Code2,
        }
    }
}

/// Where results go.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write to this file instead of standard output (a plot: FILE.png or FILE.svg).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The test statistic, as pyhf's CLI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestStat {
    Qtilde,
    Q,
    Q0,
    T,
    Ttilde,
}

impl From<TestStat> for TestStatistic {
    fn from(t: TestStat) -> Self {
        match t {
            TestStat::Qtilde => TestStatistic::QmuTilde,
            TestStat::Q => TestStatistic::Qmu,
            TestStat::Q0 => TestStatistic::Q0,
            TestStat::T => TestStatistic::Tmu,
            TestStat::Ttilde => TestStatistic::TmuTilde,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CalcType {
    Asymptotics,
    Toys,
}

/// How a hypothesis test is made.
#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub test_stat: TestStatArg,
    /// Asymptotic formulae or pseudo-experiments.
    #[arg(long, value_enum, default_value_t = CalcType::Asymptotics)]
    pub calctype: CalcType,
    /// Pseudo-experiments per hypothesis (with --calctype toys).
    #[arg(long, default_value_t = 2000)]
    pub ntoys: usize,
    /// Seed of the pseudo-experiments: the same seed gives the same toys.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl TestArgs {
    pub fn calculator(&self) -> fitfleet_engine::infer::Calculator {
        match self.calctype {
            CalcType::Asymptotics => fitfleet_engine::infer::Calculator::Asymptotics,
            CalcType::Toys => fitfleet_engine::infer::Calculator::Toys { ntoys: self.ntoys, seed: self.seed },
        }
    }
}

#[derive(Debug, Args)]
pub struct ClsArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub poi: PoiArg,
    #[command(flatten)]
    pub test: TestArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct UpperLimitArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub limit: LimitArgs,
    #[command(flatten)]
    pub test_stat: TestStatArg,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct SignificanceArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Upper-limit settings: confidence level and the optional POI scan.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Scan the POI over START STOP N (evenly spaced, inclusive) and report every point;
    /// without it, the limits come from root finding.
    #[arg(long, num_args = 3, value_names = ["START", "STOP", "N"])]
    pub scan: Option<Vec<f64>>,
    #[command(flatten)]
    pub alpha: AlphaArg,
}

impl LimitArgs {
    /// The scan grid, checked: N a whole number from 2 to [`fitfleet_protocol::MAX_SCAN_POINTS`].
    pub fn grid(&self) -> anyhow::Result<Option<fitfleet_protocol::ScanGrid>> {
        let Some(v) = &self.scan else { return Ok(None) };
        let n = v[2];
        let max = fitfleet_protocol::MAX_SCAN_POINTS;
        if n < 2.0 || n.fract() != 0.0 || n > f64::from(max) {
            bail!("--scan START STOP N: N must be a whole number from 2 to {max}, got {n}");
        }
        Ok(Some(fitfleet_protocol::ScanGrid { start: v[0], stop: v[1], points: n as u32 }))
    }
}

// ---- The fleet: submit, status, wait, results, jobs, cancel; and the embedded run. ----

/// The workspace and the signal points to fit, for `run` and `submit`.
#[derive(Debug, Args)]
pub struct BatchInputArgs {
    /// Without a patchset the workspace is fitted as it is (one task); with one, one task per
    /// patch.
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    #[command(flatten)]
    pub patchset: PatchsetArg,
    #[command(flatten)]
    pub patches: PatchArg,
    #[command(flatten)]
    pub model_settings: ModelSettingsArgs,
}

/// What each task computes: CLs at --poi (default), or upper limits, fits or significances.
#[derive(Debug, Args)]
pub struct WorkArgs {
    #[command(flatten)]
    pub poi: PoiArg,
    /// Upper limits on the POI per patch (asymptotics) instead of CLs at one POI value.
    #[arg(long, conflicts_with_all = ["fit", "significance"])]
    pub upper_limit: bool,
    #[command(flatten)]
    pub limit: LimitArgs,
    /// A maximum-likelihood fit per patch, every parameter free.
    #[arg(long, conflicts_with = "significance")]
    pub fit: bool,
    /// The discovery significance (q0) per patch.
    #[arg(long)]
    pub significance: bool,
    #[command(flatten)]
    pub test: TestArgs,
    /// With --calctype toys: pseudo-experiments per task. A patch's --ntoys are split into
    /// tasks of this many (merged exactly into its CLs by `results`).
    #[arg(long, default_value_t = 500, value_name = "K")]
    pub toys_per_task: u64,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: BatchInputArgs,
    #[command(flatten)]
    pub work: WorkArgs,
    /// Fits at once (default: one per CPU core).
    #[arg(long, value_name = "N")]
    pub slots: Option<usize>,
    #[command(flatten)]
    pub device: DeviceArg,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub input: BatchInputArgs,
    #[command(flatten)]
    pub work: WorkArgs,
    #[command(flatten)]
    pub connection: FleetArgs,
}

/// A command on one job of the fleet.
#[derive(Debug, Args)]
pub struct JobArgs {
    #[command(flatten)]
    pub job: JobArg,
    #[command(flatten)]
    pub connection: FleetArgs,
}

/// `fitfleet wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    #[command(flatten)]
    pub job: JobArg,
    /// Seconds without progress after which wait says why (Redis unreachable or refusing
    /// writes, no worker consuming, tasks queued behind others or held by busy workers), and
    /// again after each such span
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub stall_secs: u64,
    #[command(flatten)]
    pub connection: FleetArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResultsFormat {
    /// The results document: JSON keyed by patch name.
    Json,
    /// One row per patch: patch, mass values, CLs_obs, CLs_exp_m2..p2, fit_time, status, reason.
    Csv,
}

#[derive(Debug, Args)]
pub struct ResultsArgs {
    #[command(flatten)]
    pub job: JobArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultsFormat::Json)]
    pub format: ResultsFormat,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub connection: FleetArgs,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Show at most this many jobs.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[command(flatten)]
    pub connection: FleetArgs,
}

#[derive(Debug, Args)]
pub struct ExamplePalletArgs {
    /// Directory to write BkgOnly.json and patchset.json into (created if missing).
    #[arg(long, value_name = "DIR", default_value = "examples/pallet")]
    pub out_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    #[command(flatten)]
    pub results: ResultsSourceArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The title (default: what is shown).
    #[arg(long)]
    pub title: Option<String>,
    /// Draw the Brazil band of this entry's upper-limit scan.
    #[arg(long)]
    pub patch: Option<String>,
    /// Which plot (default: a contour when entries have CLs, else the Brazil band of the only
    /// entry with a scan).
    #[arg(long, value_enum)]
    pub kind: Option<crate::plot::PlotKind>,
    /// The label on the x axis of a contour (default: the first of the patchset's labels).
    #[arg(long)]
    pub x: Option<String>,
    /// The label on the y axis of a contour (default: the second).
    #[arg(long)]
    pub y: Option<String>,
    /// The x axis title, e.g. "m(χ̃₁±/χ̃₂⁰) [GeV]" (default: the label, with " [GeV]" for a mass
    /// label such as m1).
    #[arg(long, value_name = "TEXT")]
    pub x_title: Option<String>,
    /// The y axis title (default as for --x-title).
    #[arg(long, value_name = "TEXT")]
    pub y_title: Option<String>,
    /// A line in the plot's top-left corner: experiment, energy, luminosity, e.g.
    /// "ATLAS  √s = 13 TeV, 139 fb⁻¹".
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Smoothing of the contours, in passes: each pass replaces a point's log10 CLs by the local
    /// linear fit over its neighbours (a trend linear in the masses is unchanged; a point off its
    /// neighbours' trend no longer grows a finger or loop of the contour), and the curves get
    /// their corners cut. 0 draws the exact level sets of the computed points.
    #[arg(long, value_name = "PASSES", default_value_t = 1)]
    pub smoothing: usize,
    #[command(flatten)]
    pub alpha: AlphaArg,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1100)]
    pub width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 800)]
    pub height: u32,
}

/// Formats a results document converts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// HistFitter's harvest list (CLs, CLsexp, clsd1s, ..., the masses by label), for contour
    /// tools such as harvestToContours.py.
    Harvest,
    /// One row per patch, as `fitfleet results --format csv` writes it.
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub results: ResultsSourceArgs,
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    #[command(flatten)]
    pub output: OutputArgs,
}

// ---- Fit diagnostics: yields, pulls, correlations, ranking, scans. ----

/// How a diagnostic is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticsFormat {
    /// Aligned columns for a terminal.
    Table,
    Json,
    Csv,
}

/// The format and destination of a diagnostic.
#[derive(Debug, Args)]
pub struct DiagnosticsOutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagnosticsFormat::Table)]
    pub format: DiagnosticsFormat,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A diagnostic's figure.
#[derive(Debug, Args)]
pub struct DiagnosticsPlotArgs {
    /// Also draw the figure into this file (.png or .svg).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// The figure's title (default: what is shown).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// A line in the figure's top-left corner: experiment, energy, luminosity.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Image width in pixels (the height follows the number of parameters shown).
    #[arg(long, default_value_t = 1100)]
    pub width: u32,
}

#[derive(Debug, Args)]
pub struct YieldsArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub output: DiagnosticsOutputArgs,
}

#[derive(Debug, Args)]
pub struct PullsArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub output: DiagnosticsOutputArgs,
    #[command(flatten)]
    pub plot: DiagnosticsPlotArgs,
}

#[derive(Debug, Args)]
pub struct CorrelationsArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Show only parameters with some correlation to another of at least this magnitude
    /// (0: all parameters).
    #[arg(long, default_value_t = 0.0, value_name = "R")]
    pub threshold: f64,
    #[command(flatten)]
    pub output: DiagnosticsOutputArgs,
    #[command(flatten)]
    pub plot: DiagnosticsPlotArgs,
}

#[derive(Debug, Args)]
pub struct RankingArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Show only the N parameters of largest impact (default: all in tables, 20 in the figure).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Run the fixed fits on the fleet's workers (--per-task parameters per task) and follow
    /// them with a progress bar; the ranking is written when every task has its result.
    #[arg(long)]
    pub fleet: bool,
    /// With --fleet: the parameters of one task (four fits each).
    #[arg(long, value_name = "N", default_value_t = 4, requires = "fleet")]
    pub per_task: usize,
    #[command(flatten)]
    pub output: DiagnosticsOutputArgs,
    #[command(flatten)]
    pub plot: DiagnosticsPlotArgs,
    #[command(flatten)]
    pub connection: FleetArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// A parameter to scan, by its name as `fitfleet inspect` lists it (default: the POI);
    /// twice for a 2D scan.
    #[arg(long = "parameter", value_name = "NAME")]
    pub parameters: Vec<String>,
    /// The range of each scanned parameter, in the order of --parameter (default: the best
    /// fit +- 3 sigma, within the parameter's bounds).
    #[arg(long = "range", value_name = "LO,HI", allow_hyphen_values = true)]
    pub ranges: Vec<String>,
    /// Grid points per scanned parameter (default: 21 for a 1D scan, 15 per axis for 2D).
    #[arg(long, value_name = "N")]
    pub points: Option<usize>,
    #[command(flatten)]
    pub output: DiagnosticsOutputArgs,
    #[command(flatten)]
    pub plot: DiagnosticsPlotArgs,
}

/// The largest batch `device-timing` evaluates.
pub const MAX_TIMING_BATCH: usize = 65_536;

#[derive(Debug, Args)]
pub struct DeviceTimingArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Batch sizes to time (points evaluated at once), comma-separated, each 1 to 65,536.
    #[arg(long, value_name = "B,...", value_delimiter = ',', default_values_t = [1, 16, 256],
          value_parser = clap::value_parser!(u32).range(1..=MAX_TIMING_BATCH as i64))]
    pub batch: Vec<u32>,
    /// Calls timed per batch size and evaluation, after one untimed call; the median is
    /// reported.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeats: u32,
    #[command(flatten)]
    pub output: OutputArgs,
}

// ---- pyhf's workspace and patchset operations (`fitfleet workspace ...`, `fitfleet patchset ...`). ----

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Combine workspaces into one (pyhf combine): their channels, observations and
    /// measurements, joined as --join says; more than two are combined left to right.
    Combine(CombineArgs),
    /// Remove channels, samples, modifiers (by name or type) or measurements (pyhf prune).
    Prune(PruneArgs),
    /// Rename channels, samples, modifiers or measurements (pyhf rename).
    Rename(RenameArgs),
    /// Sort channels, samples, modifiers, measurements and observations by name (pyhf sort).
    Sort(WorkspaceOutputArgs),
    /// The workspace's digest as pyhf computes it (pyhf digest): what a patchset records in
    /// metadata.digests.
    Digest(DigestArgs),
}

#[derive(Debug, Subcommand)]
pub enum PatchsetCommand {
    /// Every patch's name and values, with the patchset's labels (a table, or --json).
    List(PatchsetListArgs),
    /// A patch's JSON Patch operations (pyhf patchset extract).
    Extract(PatchsetExtractArgs),
    /// The background-only workspace with a patch applied (pyhf patchset apply), after checking
    /// the patchset was made for it.
    Apply(PatchsetApplyArgs),
    /// Check the patchset was made for the workspace: the digests it records must be the
    /// workspace's (pyhf patchset verify); exits non-zero, saying which, when not.
    Verify(PatchsetVerifyArgs),
    /// The number of patches and their names, as pyhf patchset inspect prints them.
    Inspect(PatchsetFileArg),
}

/// Where a command writes the workspace (or patch) it makes.
#[derive(Debug, Args)]
pub struct OutputFileArg {
    /// Write the JSON to this file (as pyhf writes it: indented by 4, keys sorted) instead of
    /// standard output.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

/// A workspace in, a workspace out.
#[derive(Debug, Args)]
pub struct WorkspaceOutputArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    #[command(flatten)]
    pub output: OutputFileArg,
}

/// pyhf's join modes of `combine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JoinMode {
    /// Every channel, observation and measurement of both; no name may be shared.
    None,
    /// Items of the second not equal to one of the first are added; a name then used twice
    /// (different content) is an error; measurements of one name are merged.
    Outer,
    /// The first workspace's items, plus the second's of names the first lacks.
    #[value(name = "left outer", alias = "left-outer")]
    LeftOuter,
    /// The second workspace's items, plus the first's of names the second lacks.
    #[value(name = "right outer", alias = "right-outer")]
    RightOuter,
}

impl From<JoinMode> for fitfleet_engine::spec::ops::Join {
    fn from(j: JoinMode) -> Self {
        use fitfleet_engine::spec::ops::Join;
        match j {
            JoinMode::None => Join::None,
            JoinMode::Outer => Join::Outer,
            JoinMode::LeftOuter => Join::LeftOuter,
            JoinMode::RightOuter => Join::RightOuter,
        }
    }
}

#[derive(Debug, Args)]
pub struct CombineArgs {
    /// The workspaces (JSON, .json.gz, or a pallet directory or archive: its background-only
    /// workspace), two or more.
    #[arg(value_name = "WORKSPACE", num_args = 2.., required = true)]
    pub workspaces: Vec<PathBuf>,
    /// How the workspaces are joined.
    #[arg(short, long, value_enum, default_value_t = JoinMode::None)]
    pub join: JoinMode,
    /// Merge the samples of channels both workspaces have (not with --join none).
    #[arg(long)]
    pub merge_channels: bool,
    #[command(flatten)]
    pub output: OutputFileArg,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// A channel to remove, with its observation (repeatable).
    #[arg(short, long, value_name = "CHANNEL")]
    pub channel: Vec<String>,
    /// A sample to remove from every channel (repeatable).
    #[arg(short, long, value_name = "SAMPLE")]
    pub sample: Vec<String>,
    /// A modifier to remove from every sample, with its parameter configurations (repeatable).
    #[arg(short, long, value_name = "MODIFIER")]
    pub modifier: Vec<String>,
    /// A modifier type to remove: histosys, lumi, normfactor, normsys, shapefactor, shapesys
    /// or staterror (repeatable).
    #[arg(short = 't', long, value_name = "TYPE")]
    pub modifier_type: Vec<fitfleet_engine::spec::ModifierType>,
    /// A measurement to remove (repeatable).
    #[arg(long, value_name = "MEASUREMENT")]
    pub measurement: Vec<String>,
    #[command(flatten)]
    pub output: OutputFileArg,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// Rename a channel and its observation (repeatable).
    #[arg(short, long, num_args = 2, value_names = ["OLD", "NEW"], action = clap::ArgAction::Append)]
    pub channel: Vec<String>,
    /// Rename a sample in every channel (repeatable).
    #[arg(short, long, num_args = 2, value_names = ["OLD", "NEW"], action = clap::ArgAction::Append)]
    pub sample: Vec<String>,
    /// Rename a modifier, its parameter configurations and the POI if it is one (repeatable).
    #[arg(short, long, num_args = 2, value_names = ["OLD", "NEW"], action = clap::ArgAction::Append)]
    pub modifier: Vec<String>,
    /// Rename a measurement (repeatable).
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], action = clap::ArgAction::Append)]
    pub measurement: Vec<String>,
    #[command(flatten)]
    pub output: OutputFileArg,
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// The hash algorithm: sha256, md5, sha1, sha224, sha384 or sha512 (repeatable).
    #[arg(short, long, value_name = "ALGORITHM", default_value = "sha256")]
    pub algorithm: Vec<String>,
    /// Print the digests as a JSON object instead of ALGORITHM:DIGEST lines.
    #[arg(short, long)]
    pub json: bool,
}

/// The patchset a patchset command reads.
#[derive(Debug, Args)]
pub struct PatchsetFileArg {
    /// The patchset (pyhf PatchSet JSON or .json.gz), or a pallet directory or .tar.gz/.tgz
    /// archive holding one (patchset.json).
    #[arg(id = "patchset_file", value_name = "PATCHSET")]
    pub path: PathBuf,
}

/// One patch of a patchset, for extract and apply.
#[derive(Debug, Args)]
pub struct PatchNameArg {
    /// The patch, by its metadata name or by its values comma-separated (`--name 1000,0`), as
    /// pyhf's `patchset[...]` finds it.
    #[arg(long, visible_alias = "patch", value_name = "NAME|VALUES")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PatchsetListArgs {
    #[command(flatten)]
    pub patchset: PatchsetFileArg,
    /// Print JSON (labels, and each patch's name and values) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PatchsetExtractArgs {
    #[command(flatten)]
    pub patchset: PatchsetFileArg,
    #[command(flatten)]
    pub name: PatchNameArg,
    /// Write {"metadata": ..., "patch": ...}, the patch's metadata updated with the patchset's.
    #[arg(long)]
    pub with_metadata: bool,
    #[command(flatten)]
    pub output: OutputFileArg,
}

/// The background-only workspace and its patchset, for apply and verify.
#[derive(Debug, Args)]
pub struct BackgroundAndPatchsetArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// The patchset (default: the one in the pallet directory or archive WORKSPACE names).
    #[arg(id = "patchset_file", value_name = "PATCHSET")]
    pub patchset: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PatchsetApplyArgs {
    #[command(flatten)]
    pub inputs: BackgroundAndPatchsetArgs,
    #[command(flatten)]
    pub name: PatchNameArg,
    #[command(flatten)]
    pub output: OutputFileArg,
}

#[derive(Debug, Args)]
pub struct PatchsetVerifyArgs {
    #[command(flatten)]
    pub inputs: BackgroundAndPatchsetArgs,
}
