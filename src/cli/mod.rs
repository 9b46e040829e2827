//! The command line: flags (`flags`), and one module per command. Each
//! command returns its exit code; errors become exit code 2 with a message
//! on stderr, and nothing is written after an error. A run stopped by Ctrl-C
//! or SIGTERM while writing exits with 130 or 143 after restoring its files.

pub mod apply;
pub mod check;
pub mod eval_cmd;
pub mod flags;
pub mod model_cmd;
pub mod shell_cmd;
pub mod test_cmd;

use crate::denoise::{DecodeMode, DecodeOptions, Device, ModelSource, ServerOptions};
use crate::fill::FillOptions;
use crate::pipeline::RunOptions;
use crate::project::Project;
use crate::rule::{Rule, Severity};
use crate::walk::WalkOptions;
use clap::Parser;
use flags::{
    Cli, ColorChoice, Command, CommonArgs, DecodeArg, DeviceArg, ModelArgs, VerifyArg, VerifyArgs,
};
use std::io::IsTerminal;
use std::path::PathBuf;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FOUND: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// Parses arguments and runs a command; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Apply(a) => apply::run(a),
        Command::Check(c) => check::run(c),
        Command::Test(t) => test_cmd::run(t),
        Command::Eval(e) => eval_cmd::run(e),
        Command::Model(m) => model_cmd::run(m),
        Command::Completions(c) => shell_cmd::completions(c),
        Command::Man => shell_cmd::man(),
    };
    match result {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<crate::emit::interrupt::Interrupted>() {
            Some(i) => {
                eprintln!("refactor: {i}");
                i.exit_code()
            }
            None => {
                eprintln!("error: {e:#}");
                EXIT_ERROR
            }
        },
    }
}

/// Whether to color stdout.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// The rules a run uses, loaded and compiled once, and the ast-grep project
/// it runs in (`--config`, or the sgconfig.yml found in the working folder
/// or above). `--rule` wins: with it, the project's `ruleDirs` are not
/// loaded (as ast-grep's `scan --rule`), but its global utils and
/// `languageGlobs` still apply. Without `--rule`, the project's rules; with
/// neither, an error. Rules switched off with `severity: off` are dropped
/// (as in ast-grep: an off rule is not run at all, so it can neither be
/// reported nor shadow another rule's edit).
pub fn active_rules(c: &CommonArgs) -> anyhow::Result<(Vec<Rule>, Option<Project>)> {
    let project = crate::project::find(c.config.as_deref())?;
    let rules = match (&project, c.rules.is_empty()) {
        (_, false) => {
            let globals = match &project {
                Some(p) => p.global_utils()?,
                None => Default::default(),
            };
            crate::rule::load::load_rules_with(&c.rules, &globals)?
        }
        (Some(p), true) => p.rules()?,
        (None, true) => anyhow::bail!(
            "no rules: pass --rule PATH, or run inside an ast-grep project (a folder with \
             sgconfig.yml, or one above it), or name its config with --config"
        ),
    };
    let rules: Vec<Rule> = rules
        .into_iter()
        .filter(|r| r.severity != Some(Severity::Off))
        .collect();
    for w in rules.iter().flat_map(|r| &r.warnings) {
        eprintln!("warning: {w}");
    }
    Ok((rules, project))
}

/// The fill stage's options; an error when the flags contradict each other
/// (reported before any file is walked).
pub fn fill_options(m: &ModelArgs, quiet: bool) -> anyhow::Result<FillOptions> {
    let server = m.model_server.as_ref().and_then(|s| s.0.clone());
    if server.is_some() && m.device != DeviceArg::Auto {
        anyhow::bail!(
            "--device runs the model in this process, but --model-server (or \
             REFACTOR_MODEL_SERVER) sends it to a server; use one of them \
             (REFACTOR_MODEL_SERVER= turns the server off)"
        );
    }
    Ok(FillOptions {
        model: match &m.model {
            Some(p) => ModelSource::Path(p.clone()),
            None => ModelSource::Default,
        },
        device: match m.device {
            DeviceArg::Auto => Device::Auto,
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Cuda => Device::Cuda,
            DeviceArg::Tensorrt => Device::TensorRt,
        },
        server: server.map(|url| ServerOptions {
            url,
            timeout: std::time::Duration::from_secs_f64(m.model_server_timeout),
        }),
        decode: DecodeOptions {
            mode: match m.decode {
                DecodeArg::Parallel => DecodeMode::Parallel,
                DecodeArg::Sequential => DecodeMode::Sequential,
                DecodeArg::Prefix => DecodeMode::Prefix,
            },
            threshold: m.tau,
            max_steps: m.steps,
            ..DecodeOptions::default()
        },
        threshold: m.threshold,
        quiet,
    })
}

/// `--verify`: the checkers' commands, found now, so a missing one is an
/// error (exit code 2) before any file is walked.
pub fn verify_options(v: &VerifyArgs) -> anyhow::Result<crate::verify::VerifyOptions> {
    let checkers: Vec<crate::verify::Checker> = v
        .verify
        .iter()
        .map(|c| match c {
            VerifyArg::Mypy => crate::verify::Checker::Mypy,
            VerifyArg::Cargo => crate::verify::Checker::Cargo,
        })
        .collect();
    crate::verify::find_tools(&checkers)
}

/// Stack size of the command's thread and of the matching threads.
pub const STACK_SIZE: usize = 256 << 20;

/// `--threads N`, capped at four per core: more only adds contention (a
/// thousand threads on two cores ran for minutes).
pub fn worker_threads(requested: usize, quiet: bool) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = cores * 4;
    if requested > cap {
        if !quiet {
            eprintln!("note: --threads {requested} capped at {cap} (four per core)");
        }
        return cap;
    }
    requested
}

pub fn run_options(
    c: &CommonArgs,
    root: PathBuf,
    project: Option<&Project>,
) -> anyhow::Result<RunOptions> {
    let fill = fill_options(&c.model, c.quiet)?;
    let verify = verify_options(&c.verify)?;
    let threads = worker_threads(c.threads, c.quiet);
    // Matching recurses along the rule (bounded when rules load) and, for
    // utils that reach themselves through `has`/`inside`, along the source
    // tree: give workers stacks that hold files nested tens of thousands of
    // levels deep. (Address space only; pages are touched as used.)
    // The error when a pool already exists is ignored (tests call us twice).
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(STACK_SIZE)
        .build_global();
    Ok(RunOptions {
        paths: if c.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            c.paths.clone()
        },
        walk: WalkOptions {
            include: c.include.clone(),
            exclude: c.exclude.clone(),
            max_filesize: c.max_filesize,
            follow_links: c.follow,
            hidden: c.hidden,
            no_ignore: c.no_ignore,
            threads,
            lang_globs: project.map(|p| p.lang_globs.clone()).unwrap_or_default(),
        },
        fill,
        verify,
        root,
        rules_root: project.map(Project::root),
        only: None,
        shard: None,
        progress: !c.quiet && std::io::stderr().is_terminal(),
        prefilter: !c.no_prefilter,
    })
}
