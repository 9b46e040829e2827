//! Every command-line flag, defined once with its documentation (design §1).

use crate::eval::sites::Task;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "refactor",
    version,
    about = "Repo-wide batch refactoring with ast-grep-compatible rules",
    long_about = "Repo-wide batch refactoring with ast-grep-compatible YAML rules.\n\n\
Rewrite templates may contain holes ($?NAME) that a masked-diffusion model fills.\n\
Exit codes: 0 success (check: nothing to change), 1 check found changes, 2 error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rewrite code: print a unified diff (default), --write it, or --commit it.
    Apply(ApplyArgs),
    /// CI bot: report what the rules would change; exit 1 if something would.
    Check(CheckArgs),
    /// Run rule tests: an ast-grep project's (testConfigs, with snapshots), or
    /// `*.test.yml` / `*-test.yml` files beside the rules.
    Test(TestArgs),
    /// Measure hole filling on code that already has the answers.
    Eval(EvalArgs),
    /// Work with the denoiser model (export it for an inference server).
    Model(ModelCmdArgs),
    /// Print a shell completion script to stdout, e.g.
    /// `refactor completions bash > ~/.local/share/bash-completion/completions/refactor`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff, every command and flag) to stdout, e.g.
    /// `refactor man > refactor.1; man -l refactor.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ModelCmdArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Write a Triton Inference Server model repository for the denoiser:
    /// DIR/NAME/1/model.onnx and DIR/NAME/config.pbtxt (ONNX Runtime backend,
    /// dynamic batching, inputs and outputs with dynamic dimensions). Serve it
    /// with `tritonserver --model-repository DIR` and point `--model-server`
    /// at the server.
    ExportTriton(ExportTritonArgs),
}

#[derive(Debug, Args)]
pub struct ExportTritonArgs {
    /// Model repository folder (created if missing; other models in it are left alone).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Model folder to export (model.json, ONNX file, tokenizer.json); default:
    /// the shipped model. Clients must use the same folder with --model.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,

    /// Model name: the folder under DIR and the name clients ask the server for.
    #[arg(long, default_value = crate::denoise::engine::kserve::DEFAULT_MODEL_NAME, value_name = "NAME")]
    pub name: String,

    /// Most rows per request the server accepts and its dynamic batcher forms
    /// (refactor sends at most 32 rows per request, fewer if this is lower).
    #[arg(long, default_value_t = crate::denoise::triton::DEFAULT_MAX_BATCH_SIZE, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_batch_size: u32,

    /// Leave dynamic batching out (each request runs on its own).
    #[arg(long)]
    pub no_dynamic_batching: bool,

    /// Run the model through TensorRT on the server's GPUs (ONNX Runtime's
    /// TensorRT execution accelerator; needs a GPU server build).
    #[arg(long)]
    pub tensorrt: bool,

    /// Replace the model's config.pbtxt and 1/model.onnx if DIR/NAME has them.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    Auto,
    Cpu,
    Cuda,
    Tensorrt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecodeArg {
    /// Every position reaching τ each step, and at least the most confident one per hole.
    Parallel,
    /// One position per slot per step, left to right (the baseline).
    Sequential,
    /// Left to right: the leftmost open position, then each next one reaching τ.
    Prefix,
}

/// Options shared by every command that runs rules over files.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Rule file (one or more rules separated by `---`) or folder of rule files.
    /// Repeatable. Default: the rules of the ast-grep project (sgconfig.yml)
    /// found in the working folder or above; with --rule, the project's
    /// ruleDirs are not loaded, its utilDirs and languageGlobs still apply.
    #[arg(long = "rule", short = 'r', value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// ast-grep project config to use instead of the sgconfig.yml (or
    /// sgconfig.yaml) found in the working folder or above.
    #[arg(long, short = 'c', value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Files or folders to process (default: the current folder).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Only process files matching this glob (repeatable; gitignore syntax).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,

    /// Skip files matching this glob (repeatable; gitignore syntax).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Worker threads (0: one per core; at most four per core are used).
    #[arg(long, short = 'j', default_value_t = 0, value_name = "N")]
    pub threads: usize,

    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub max_filesize: u64,

    /// Also search hidden files and folders.
    #[arg(long)]
    pub hidden: bool,

    /// Do not honour .gitignore / .ignore files.
    #[arg(long)]
    pub no_ignore: bool,

    /// Follow symbolic links.
    #[arg(long)]
    pub follow: bool,

    /// Parse every file, even one that lacks the literal text a rule needs
    /// (a rule's tokens, such as `None` and `==` in `$A == None`). Results are
    /// the same either way; this only checks that, at some cost in speed.
    #[arg(long)]
    pub no_prefilter: bool,

    /// When to use colors (NO_COLOR is respected with `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print no summary or notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Print where the time went on stderr (walk, read, prefilter skips,
    /// parse, match, fill, validate, output), and with `--json` or
    /// `--format json` a final `{"stats": …}` line.
    #[arg(long)]
    pub stats: bool,

    #[command(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    pub verify: VerifyArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyArg {
    /// mypy on Python files (`python3 -m mypy`, `mypy` on PATH, or REFACTOR_MYPY).
    Mypy,
    /// `cargo check` on the crate of Rust files (cargo on PATH, or REFACTOR_CARGO).
    Cargo,
}

/// The type-check gate for hole fills.
#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    /// Type-check hole fills before anything is written (off by default;
    /// repeatable, or comma-separated: `--verify mypy,cargo`). After the
    /// reparse, each checker runs twice on the files that received fills: on
    /// the original text and on the new one (mypy through --shadow-file,
    /// cargo on a temporary copy of the crate, offline; your files are not
    /// touched). A fill that adds a type error is dropped and reported as
    /// `rejected: type check` with the checker's message; the file's other
    /// edits are still written. Costs a checker run per side: about a second
    /// for mypy on a small package, a `cargo check` of the crate for cargo.
    /// A checker that is not installed is an error (exit code 2). (Not to be
    /// confused with --no-verify, which skips git hooks for --commit.)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "CHECKER")]
    pub verify: Vec<VerifyArg>,
}

/// Model options; only used when a rule has holes.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// Model folder (model.json, ONNX file, tokenizer.json); default: the shipped model.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,

    /// Where the model runs (in this process; see --model-server for a server).
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,

    /// Run the model's forward passes on a KServe v2 inference server (such
    /// as Triton) over HTTP instead of in this process. `http://HOST:PORT`
    /// asks for the model named `refactor-denoiser` (the name `refactor model
    /// export-triton` gives it); `http://HOST:PORT/v2/models/NAME` (optionally
    /// `/versions/V`) names another. The tokenizer and model.json still come
    /// from --model or the shipped model, and the server must serve the same
    /// ONNX file. At start the server's model is checked (ready, inputs,
    /// outputs); an unreachable server or a different model is an error (exit
    /// code 2) before anything is written. Plain http:// only. An empty value
    /// (`REFACTOR_MODEL_SERVER=`) means in process.
    #[arg(
        long,
        env = "REFACTOR_MODEL_SERVER",
        value_name = "URL",
        value_parser = parse_model_server
    )]
    pub model_server: Option<ModelServerArg>,

    /// Seconds one request to --model-server may take, from connecting to the
    /// end of the answer. A request that fails to connect, breaks, times out
    /// or gets HTTP 429/502/503/504 is tried twice more (after 0.5 s, then
    /// 1 s); other errors are not retried.
    #[arg(
        long,
        default_value_t = crate::denoise::engine::kserve::DEFAULT_TIMEOUT_SECS as f64,
        value_name = "SECS",
        value_parser = parse_timeout
    )]
    pub model_server_timeout: f64,

    /// Maximum denoising steps (0: as many as the longest slot needs).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub steps: usize,

    /// Confidence a fill needs to be applied, between 0 and 1, for every hole (a
    /// hole's min_confidence overrides it). Without it each hole gets a default
    /// calibrated on held-out code for 95 % right fills: 0.93 for `kind: type`, 0.94
    /// for `kind: identifier`, 0.995 for names chosen among candidates, else 0.95.
    #[arg(
        long,
        value_name = "T",
        value_parser = parse_threshold,
        allow_negative_numbers = true
    )]
    pub threshold: Option<f32>,

    /// Per-position commit threshold τ of parallel decoding: above 0, at most 1.
    #[arg(
        long,
        default_value_t = 0.9,
        value_name = "TAU",
        value_parser = parse_tau,
        allow_negative_numbers = true
    )]
    pub tau: f32,

    /// Decoding schedule: prefix, the default (each step commits a hole's
    /// leftmost open position and each next one whose confidence reaches τ),
    /// parallel (every position reaching τ, and at least the most confident
    /// one per hole), or the sequential baseline (one token per hole per step,
    /// left to right). Prefix matched or beat parallel on held-out code with
    /// fewer model passes.
    #[arg(long, value_enum, default_value_t = DecodeArg::Prefix)]
    pub decode: DecodeArg,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Write the changes to the files (atomically).
    #[arg(long, conflicts_with = "commit")]
    pub write: bool,

    /// Write the changes and commit exactly those files with git. With
    /// --interactive, only the edits accepted in the review are written and
    /// committed.
    #[arg(long)]
    pub commit: bool,

    /// Review every edit in the terminal before anything is written. Each edit
    /// is shown as a hunk with its rule and message; keys: y accept, n skip,
    /// a accept it and the rest of this file, A accept it and all the rest, q
    /// write what was accepted and stop, e edit the replacement in $EDITOR, ?
    /// help, Ctrl-C stop without writing. A hole whose fill is below the
    /// confidence threshold is offered as a suggestion, written only when you
    /// accept it with y or e (a and A leave suggestions they have not shown
    /// out). The accepted edits are written as --write writes them (atomic,
    /// never a file that no longer parses), or committed with --commit. Needs
    /// a terminal on stdin and stdout (exit code 2 otherwise).
    #[arg(long, short = 'i', conflicts_with_all = ["write", "json"])]
    pub interactive: bool,

    /// With --commit: also rewrite files that have uncommitted changes. The
    /// whole file is committed, so your own unrelated edits in those files
    /// (staged or not) go into the refactor commit with the rewrite.
    #[arg(long, requires = "commit")]
    pub allow_dirty: bool,

    /// With --commit: do not run the pre-commit and commit-msg hooks (as
    /// `git commit --no-verify`); post-commit still runs.
    #[arg(long, requires = "commit")]
    pub no_verify: bool,

    /// With --write, --commit or --interactive: when another refactor run is writing in the
    /// same repository (or folder), fail at once with exit code 2 instead of
    /// waiting for it to finish.
    #[arg(long)]
    pub no_wait: bool,

    /// Print the edit report as JSON lines instead of a diff.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Hint,
    Never,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Only check files changed between REV's merge base with HEAD and the working tree.
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,

    /// With --changed-since: only report findings that overlap changed lines.
    #[arg(long, requires = "changed_since")]
    pub changed_lines: bool,

    /// Lowest severity that makes the exit code 1 (rules without severity count as error).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Check only shard I of N (0-based), split by a stable hash of the path.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Rule files or folders; `*.test.yml` / `*-test.yml` files are found beside
    /// them. Default: the ast-grep project (sgconfig.yml) found in the working
    /// folder or above, else `rules`.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// ast-grep project config to test instead of the sgconfig.yml (or
    /// sgconfig.yaml) found in the working folder or above.
    #[arg(long, short = 'c', value_name = "PATH", conflicts_with = "paths")]
    pub config: Option<PathBuf>,

    /// Rewrite the snapshot of every invalid case whose output differs from
    /// its snapshot (an ast-grep project's `__snapshots__` files).
    #[arg(long, short = 'U', conflicts_with = "skip_snapshot_tests")]
    pub update_all: bool,

    /// Only run the tests of rules whose id matches REGEX.
    #[arg(long, short = 'f', value_name = "REGEX", value_parser = parse_regex)]
    pub filter: Option<regex::Regex>,

    /// Only check that invalid cases match, not their snapshots.
    #[arg(long)]
    pub skip_snapshot_tests: bool,

    /// Also test rules with `severity: off` (skipped by default, as in ast-grep).
    #[arg(long)]
    pub include_off: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Task(s), comma-separated, or `all`: py-return-type, py-param-type,
    /// py-kwarg-name, py-local-name, rs-let-type.
    #[arg(long, value_parser = parse_tasks)]
    pub task: Tasks,

    /// Files or folders of code that already has the answers.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    /// At most this many sites (0: all), taken in path order.
    #[arg(long, default_value_t = 0)]
    pub limit: usize,

    /// `auto`: holes whose answers the code offers (keyword names of a callee
    /// defined in the evaluated code) rank those answers, as `apply` does; `off`:
    /// free decoding only (the hole declaration's `candidates: off`).
    #[arg(long, value_enum, default_value = "auto", value_name = "MODE")]
    pub candidates: CandidatesMode,

    #[command(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// `eval --candidates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CandidatesMode {
    Auto,
    Off,
}

/// `--filter REGEX`.
pub fn parse_regex(s: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(s).map_err(|e| e.to_string())
}

/// `--model-server URL`; empty means none (so `REFACTOR_MODEL_SERVER=` turns it off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelServerArg(pub Option<crate::denoise::ServerUrl>);

pub fn parse_model_server(s: &str) -> Result<ModelServerArg, String> {
    if s.trim().is_empty() {
        return Ok(ModelServerArg(None));
    }
    crate::denoise::ServerUrl::parse(s)
        .map(|u| ModelServerArg(Some(u)))
        .map_err(|e| format!("{e:#}"))
}

/// `--model-server-timeout`: seconds above 0, at most a day.
pub fn parse_timeout(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(v > 0.0 && v <= 86_400.0) {
        return Err(format!(
            "must be above 0 and at most 86400 seconds, got {s}"
        ));
    }
    Ok(v)
}

/// `--shard I/N` with `0 <= I < N`.
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or("must look like I/N, e.g. 0/4")?;
    let i: u64 = i.trim().parse().map_err(|_| "I is not a number")?;
    let n: u64 = n.trim().parse().map_err(|_| "N is not a number")?;
    if n == 0 || i >= n {
        return Err(format!("{s}: need 0 <= I < N"));
    }
    Ok((i, n))
}

/// `--task`: one or more eval tasks.
#[derive(Debug, Clone)]
pub struct Tasks(pub Vec<Task>);

pub fn parse_tasks(s: &str) -> Result<Tasks, String> {
    if s.trim() == "all" {
        return Ok(Tasks(Task::ALL.to_vec()));
    }
    s.split(',')
        .map(|t| {
            Task::parse(t.trim()).ok_or_else(|| {
                format!(
                    "unknown eval task `{}` (expected {} or all)",
                    t.trim(),
                    Task::ALL.map(|t| t.name()).join(", ")
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Tasks)
}

/// `--threshold`: a probability, so in [0, 1]; NaN would switch the gate off.
pub fn parse_threshold(s: &str) -> Result<f32, String> {
    let v: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("must be between 0 and 1, got {s}"));
    }
    Ok(v)
}

/// `--tau`: a probability above 0 (τ = 0 would commit every position at once).
pub fn parse_tau(s: &str) -> Result<f32, String> {
    let v: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if !(v > 0.0 && v <= 1.0) {
        return Err(format!("must be above 0 and at most 1, got {s}"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_accepts_probabilities_only() {
        assert_eq!(parse_threshold("0"), Ok(0.0));
        assert_eq!(parse_threshold("1"), Ok(1.0));
        assert_eq!(parse_threshold(" 0.8"), Ok(0.8));
        for bad in ["NaN", "nan", "-1", "1.01", "inf", "x", ""] {
            assert!(parse_threshold(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tau_is_above_zero_and_at_most_one() {
        assert_eq!(parse_tau("1"), Ok(1.0));
        assert_eq!(parse_tau("0.9"), Ok(0.9));
        for bad in ["0", "NaN", "2", "-0.5", "inf"] {
            assert!(parse_tau(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shard_is_i_of_n() {
        assert_eq!(parse_shard("0/4"), Ok((0, 4)));
        assert_eq!(parse_shard(" 3 / 4 "), Ok((3, 4)));
        for bad in ["4/4", "1/0", "x/2", "1", "-1/2"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tasks_are_typed_and_all_expands() {
        assert_eq!(parse_tasks("all").map(|t| t.0.len()), Ok(Task::ALL.len()));
        let t = parse_tasks("py-return-type, rs-let-type").expect("two tasks");
        assert_eq!(t.0, vec![Task::PyReturnType, Task::RsLetType]);
        let e = parse_tasks("py-nope").expect_err("unknown");
        assert!(e.contains("py-nope") && e.contains("py-kwarg-name"), "{e}");
    }

    #[test]
    fn model_server_is_a_url_or_empty() {
        assert_eq!(parse_model_server(""), Ok(ModelServerArg(None)));
        let u = parse_model_server("http://127.0.0.1:8000/v2/models/den").expect("url");
        assert_eq!(u.0.map(|u| u.model), Some("den".to_string()));
        let e = parse_model_server("https://h:1").expect_err("https");
        assert!(e.contains("https"), "{e}");
        assert_eq!(parse_timeout("0.5"), Ok(0.5));
        for bad in ["0", "-1", "NaN", "inf", "x", "100000"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
        use clap::Parser;
        let e = Cli::try_parse_from([
            "refactor",
            "apply",
            "--rule",
            "r.yml",
            "--model-server",
            "localhost:8000",
        ])
        .expect_err("not a URL");
        assert!(e.to_string().contains("--model-server"), "{e}");
    }

    #[test]
    fn interactive_combines_with_commit_only() {
        use clap::Parser;
        let ok = |args: &[&str]| {
            let mut all = vec!["refactor", "apply", "--rule", "r.yml"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all)
        };
        for args in [&["-i"][..], &["--interactive", "--commit", "--allow-dirty"]] {
            match ok(args).expect("parses").command {
                Command::Apply(a) => assert!(a.interactive),
                other => panic!("{other:?}"),
            }
        }
        for bad in ["--write", "--json"] {
            let e = ok(&["--interactive", bad]).expect_err(bad);
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn verify_is_off_by_default_repeatable_and_comma_separated() {
        use clap::Parser;
        let parse = |args: &[&str]| {
            let mut all = vec!["refactor", "check", "--rule", "r.yml"];
            all.extend_from_slice(args);
            match Cli::try_parse_from(all).map(|c| c.command) {
                Ok(Command::Check(c)) => Ok(c.common.verify.verify),
                Ok(other) => panic!("{other:?}"),
                Err(e) => Err(e.to_string()),
            }
        };
        assert_eq!(parse(&[]), Ok(vec![]));
        assert_eq!(parse(&["--verify", "mypy"]), Ok(vec![VerifyArg::Mypy]));
        assert_eq!(
            parse(&["--verify", "mypy,cargo"]),
            Ok(vec![VerifyArg::Mypy, VerifyArg::Cargo])
        );
        assert_eq!(
            parse(&["--verify", "cargo", "--verify", "mypy"]),
            Ok(vec![VerifyArg::Cargo, VerifyArg::Mypy])
        );
        let e = parse(&["--verify", "pyright"]).expect_err("unknown checker");
        assert!(e.contains("--verify") && e.contains("mypy"), "{e}");
        let eval =
            Cli::try_parse_from(["refactor", "eval", "--task", "all", "--verify", "mypy", "."])
                .expect("eval takes --verify");
        match eval.command {
            Command::Eval(e) => assert_eq!(e.verify.verify, vec![VerifyArg::Mypy]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flag_errors_name_the_flag() {
        use clap::Parser;
        let e = Cli::try_parse_from(["refactor", "apply", "--rule", "r.yml", "--tau", "2"])
            .expect_err("tau 2 refused");
        assert!(e.to_string().contains("--tau"), "{e}");
        let e = Cli::try_parse_from(["refactor", "apply", "--rule", "r.yml", "--threshold", "NaN"])
            .expect_err("NaN refused");
        assert!(e.to_string().contains("--threshold"), "{e}");
    }
}
