//! The remote engine (`--model-server`) against a real Triton Inference
//! Server, and `refactor model export-triton`.
//!
//! The Triton test needs the venv that `scripts/triton/local.py setup`
//! builds (`.ci/run` does; `REFACTOR_TRITON_VENV` or `.venv-triton` at the
//! repository root): PyPI's nvidia-pytriton wheel, whose `tritonserver` has
//! the Python backend only, so the model repository serves our ONNX file
//! through a Python-backend model running onnxruntime. Where that wheel
//! cannot run (no venv, not Linux x86_64 with glibc 2.35+, no stub for this
//! Python, a Python without libpython) the test prints `SKIPPED: <reason>`
//! and passes, unless `REFACTOR_REQUIRE_TRITON=1` (set by CI after the venv
//! was built), where it fails instead.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{copy_fixture, root, snapshot, stderr, stdout};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_refactor")
}

fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("REFACTOR_MODEL_SERVER")
        .env_remove("REFACTOR_ENGINE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run refactor")
}

fn rule(name: &str) -> String {
    root().join("rules/holes").join(name).display().to_string()
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[test]
fn export_triton_writes_a_model_repository() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("models");
    let repo_s = repo.display().to_string();
    let out = run(
        dir.path(),
        &["model", "export-triton", &repo_s, "--tensorrt"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let onnx = std::fs::read(repo.join("refactor-denoiser/1/model.onnx")).expect("model.onnx");
    assert!(
        onnx == std::fs::read(root().join("model/default/model.onnx")).expect("shipped"),
        "the exported ONNX file is the shipped one"
    );
    let config =
        std::fs::read_to_string(repo.join("refactor-denoiser/config.pbtxt")).expect("config");
    for want in [
        "name: \"refactor-denoiser\"",
        "backend: \"onnxruntime\"",
        "max_batch_size: 64",
        "{ name: \"input_ids\" data_type: TYPE_INT64 dims: [ -1 ] }",
        "{ name: \"attention_mask\" data_type: TYPE_INT64 dims: [ -1 ] }",
        "{ name: \"query_positions\" data_type: TYPE_INT64 dims: [ -1 ] }",
        "{ name: \"logits\" data_type: TYPE_FP32 dims: [ -1, 8192 ] }",
        "dynamic_batching { }",
        "gpu_execution_accelerator [ { name: \"tensorrt\" } ]",
        "key: \"refactor_onnx_fingerprint\" value: { string_value: \"fnv1a64:",
    ] {
        assert!(config.contains(want), "missing {want:?} in\n{config}");
    }

    // An existing model is not replaced without --force.
    let out = run(dir.path(), &["model", "export-triton", &repo_s], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    let out = run(
        dir.path(),
        &[
            "model",
            "export-triton",
            &repo_s,
            "--force",
            "--no-dynamic-batching",
            "--max-batch-size",
            "8",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let config =
        std::fs::read_to_string(repo.join("refactor-denoiser/config.pbtxt")).expect("config");
    assert!(config.contains("max_batch_size: 8"), "{config}");
    assert!(!config.contains("dynamic_batching"), "{config}");
    assert!(!config.contains("tensorrt"), "{config}");

    for bad in [
        vec!["--name", "../escape"],
        vec!["--name", ".hidden"],
        vec!["--max-batch-size", "0"],
    ] {
        let mut args = vec!["model", "export-triton", repo_s.as_str()];
        args.extend(bad.iter().copied());
        let out = run(dir.path(), &args, &[]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
}

#[test]
fn unreachable_model_server_exits_2_and_writes_nothing() {
    let dir = copy_fixture("holes/returns");
    let before = snapshot(dir.path());
    let url = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let out = run(
        dir.path(),
        &[
            "apply",
            "--rule",
            &rule("py-return-type.yml"),
            "--write",
            "--model-server",
            &url,
            "--model-server-timeout",
            "2",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot reach the model server at {url}"))
            && err.contains("3 attempts"),
        "{err}"
    );
    // Two retries, after 0.5 s and 1 s.
    assert!(started.elapsed() >= Duration::from_millis(1500), "{err}");
    assert_eq!(snapshot(dir.path()), before, "nothing written");

    // The same through the environment variable.
    let out = run(
        dir.path(),
        &["apply", "--rule", &rule("py-return-type.yml"), "--write"],
        &[("REFACTOR_MODEL_SERVER", &url)],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot reach the model server"));
    assert_eq!(snapshot(dir.path()), before, "nothing written");
}

#[test]
fn silent_model_server_times_out_after_retries() {
    // A socket that accepts connections (the kernel's backlog) but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let dir = copy_fixture("holes/returns");
    let before = snapshot(dir.path());
    let started = Instant::now();
    let out = run(
        dir.path(),
        &[
            "apply",
            "--rule",
            &rule("py-return-type.yml"),
            "--write",
            "--model-server",
            &url,
            "--model-server-timeout",
            "0.5",
        ],
        &[],
    );
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("timed out") && err.contains("3 attempts"),
        "{err}"
    );
    // Three attempts of 0.5 s and 1.5 s of waits between them, not longer.
    assert!(
        took >= Duration::from_millis(3000) && took < Duration::from_secs(30),
        "{took:?}"
    );
    assert_eq!(snapshot(dir.path()), before, "nothing written");
    drop(listener);
}

#[test]
fn model_server_flag_conflicts_and_bad_urls_are_refused_before_any_work() {
    let dir = copy_fixture("holes/returns");
    let rule = rule("py-return-type.yml");
    for (args, want) in [
        (
            vec!["--model-server", "http://127.0.0.1:1", "--device", "cpu"],
            "--device runs the model in this process",
        ),
        (
            vec!["--model-server", "https://h:8000"],
            "https is not supported",
        ),
        (
            vec!["--model-server", "http://h:8000/v2/models/a/b"],
            "expected …/v2/models/NAME",
        ),
        (vec!["--model-server-timeout", "0"], "must be above 0"),
    ] {
        let mut all = vec!["apply", "--rule", rule.as_str()];
        all.extend(args.iter().copied());
        let out = run(dir.path(), &all, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    // An empty REFACTOR_MODEL_SERVER means in process.
    let out = run(
        dir.path(),
        &["apply", "--rule", &rule, "--device", "cpu", "-q"],
        &[("REFACTOR_MODEL_SERVER", "")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------
// A real Triton server.

/// The venv of scripts/triton/local.py, or why the wheel cannot run here.
fn triton_venv() -> Result<PathBuf, String> {
    let venv = std::env::var_os("REFACTOR_TRITON_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv-triton"));
    if !venv.join("bin/python3").exists() {
        return Err(format!(
            "no Triton venv at {} (build it with `python3 scripts/triton/local.py setup {}`, as .ci/run does)",
            venv.display(),
            venv.display()
        ));
    }
    let out = Command::new("python3")
        .arg(root().join("scripts/triton/local.py"))
        .args(["check", "--venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the nvidia-pytriton wheel cannot run here: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ));
    }
    Ok(venv)
}

/// A tritonserver process, stopped (SIGTERM, then SIGKILL) when dropped.
struct Triton {
    child: Child,
    log: PathBuf,
    port: u16,
}

impl Triton {
    fn start(venv: &Path, repo: &Path, log: PathBuf) -> Triton {
        let port = free_port();
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new("python3")
            .arg(root().join("scripts/triton/local.py"))
            .arg("serve")
            .arg(repo)
            .arg("--venv")
            .arg(venv)
            .args(["--http-port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("start tritonserver");
        let mut t = Triton { child, log, port };
        t.wait_ready();
        t
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('|') && !l.starts_with('+'))
            .collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(240);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("tritonserver exited ({status}):\n{}", self.log_tail());
            }
            if http_status(self.port, "/v2/health/ready") == Some(200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!(
            "tritonserver was not ready after 240 s:\n{}",
            self.log_tail()
        );
    }
}

impl Drop for Triton {
    fn drop(&mut self) {
        // SIGTERM lets the server stop its Python stubs and free their shared memory.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status code of `GET path` on 127.0.0.1:port, or None when nothing answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split(' ').nth(1)?.parse().ok()
}

/// A Python-backend model folder beside the good one, with its config edited.
fn variant(repo: &Path, name: &str, edit: impl Fn(&str) -> String) {
    let good = repo.join("refactor-denoiser");
    let dir = repo.join(name).join("1");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for f in ["model.py", "model.onnx"] {
        std::fs::copy(good.join("1").join(f), dir.join(f)).expect("copy");
    }
    let config = std::fs::read_to_string(good.join("config.pbtxt")).expect("config");
    let config = config.replace("name: \"refactor-denoiser\"", &format!("name: \"{name}\""));
    let edited = edit(&config);
    assert_ne!(edited, config, "the edit changed the config");
    std::fs::write(repo.join(name).join("config.pbtxt"), edited).expect("write");
}

/// The in-process engine's library: the venv's onnxruntime, the same release
/// the server runs (so both sides compute with the same kernels).
fn venv_ort(venv: &Path) -> Option<PathBuf> {
    let capi = std::fs::read_dir(venv.join("lib"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("site-packages/onnxruntime/capi"))
        .find(|p| p.is_dir())?;
    std::fs::read_dir(capi)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so."))
        })
}

#[test]
fn triton_server_fills_equal_in_process() {
    let venv = match triton_venv() {
        Ok(v) => v,
        Err(why) if std::env::var_os("REFACTOR_REQUIRE_TRITON").is_some_and(|v| v == "1") => {
            panic!("REFACTOR_REQUIRE_TRITON=1 but {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED: Triton model server test: {why}");
            return;
        }
    };
    let work = tempfile::tempdir().expect("tempdir");
    let repo = work.path().join("repo");
    let status = Command::new("python3")
        .arg(root().join("scripts/triton/local.py"))
        .arg("python-repo")
        .arg(&repo)
        .args(["--refactor", bin(), "--quiet"])
        .stdout(Stdio::null())
        .status()
        .expect("python3");
    assert!(status.success(), "building the model repository");
    // A model whose inputs break the contract, and one that serves other weights.
    variant(&repo, "bad-contract", |c| {
        c.replace("name: \"input_ids\"", "name: \"tokens\"")
    });
    variant(&repo, "other-weights", |c| {
        let i = c.find("fnv1a64:").expect("fingerprint") + "fnv1a64:".len();
        format!("{}0000000000000000{}", &c[..i], &c[i + 16..])
    });

    let server = Triton::start(&venv, &repo, work.path().join("triton.log"));
    let url = server.url();
    let ort = venv_ort(&venv).expect("the venv's onnxruntime library");
    let ort = ort.display().to_string();

    // Same JSON report, fills (text, confidence, status) included, byte for byte.
    for (rule_file, fixture) in [
        ("py-return-type.yml", "holes/returns"),
        ("py-param-type.yml", "holes/params"),
    ] {
        let dir = copy_fixture(fixture);
        let args = ["apply", "--rule", &rule(rule_file), "--json"];
        // The server runs the exported float graph; so does the in-process engine
        // here (on a CPU it would otherwise run the model's int8 CPU graph).
        let local = run(
            dir.path(),
            &args,
            &[
                ("REFACTOR_ENGINE", "ort"),
                ("ORT_DYLIB_PATH", &ort),
                ("REFACTOR_CPU_GRAPH", "float"),
            ],
        );
        assert_eq!(local.status.code(), Some(0), "{}", stderr(&local));
        let mut remote_args = args.to_vec();
        remote_args.extend(["--model-server", url.as_str()]);
        let remote = run(dir.path(), &remote_args, &[]);
        assert_eq!(
            remote.status.code(),
            Some(0),
            "{}\n{}",
            stderr(&remote),
            server.log_tail()
        );
        assert!(
            stderr(&remote).contains(&format!(
                "by KServe v2 server {url}/v2/models/refactor-denoiser"
            )),
            "{}",
            stderr(&remote)
        );
        let holes: Vec<serde_json::Value> = stdout(&remote)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .flat_map(|r| r["holes"].as_array().cloned().unwrap_or_default())
            .collect();
        assert!(
            holes.len() >= 4 && holes.iter().all(|h| h["confidence"].is_number()),
            "{}",
            stdout(&remote)
        );
        assert_eq!(
            stdout(&remote),
            stdout(&local),
            "{fixture}: the server's fills differ from the in-process engine's"
        );
    }

    // Model metadata that breaks the contract, other weights, an unknown model:
    // exit 2 with the reason, nothing written.
    let dir = copy_fixture("holes/returns");
    let before = snapshot(dir.path());
    for (model, want) in [
        (
            "bad-contract",
            "model `bad-contract` on the model server at URL does not match the denoiser's model \
             contract: it has no input `input_ids` (its inputs: tokens, attention_mask, query_positions)",
        ),
        ("other-weights", "is a different ONNX file than the local model"),
        (
            "missing",
            "has no ready model `missing` (HTTP 4",
        ),
    ] {
        let want = want.replace("URL", &url);
        let server_url = format!("{url}/v2/models/{model}");
        let out = run(
            dir.path(),
            &[
                "apply",
                "--rule",
                &rule("py-return-type.yml"),
                "--write",
                "--model-server",
                &server_url,
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{model}: {}", stderr(&out));
        assert!(stderr(&out).contains(&want), "{model}: {}", stderr(&out));
        assert_eq!(snapshot(dir.path()), before, "{model}: nothing written");
    }
    drop(server);
}
