#!/usr/bin/env python3
"""Holes per second through a Triton model server with 1, 4 and 16 concurrent clients.

Each client is a `refactor apply --json --model-server URL` process on the
same fixture (default: rules/holes/py-return-type.yml on fixtures/holes/returns,
8 holes), run --rounds times back to back; all clients start together. Holes
per second = holes filled by all clients / wall time from the first start to
the last exit. The server is the real tritonserver of the nvidia-pytriton
wheel (scripts/triton/local.py; Python backend running the ONNX file with
onnxruntime on the CPU, one model instance), started twice: with dynamic
batching (requests of several clients that arrive together run as one
forward pass when their shapes match) and without. "requests/exec" is
Triton's own count of requests per model execution (its statistics
endpoint): above 1.00 means requests of different clients were merged. "in process" runs the same clients without a
server (each loads the model itself, ONNX Runtime CPU), for reference.

Usage:
  python3 benches/model_server_load.py [--refactor target/release/refactor]
      [--venv .venv-triton] [--clients 1,4,16] [--rounds 2]

Needs the venv of `python3 scripts/triton/local.py setup .venv-triton`.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL = os.path.join(ROOT, "scripts", "triton", "local.py")
MODEL = "refactor-denoiser"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except Exception:
        return None, b""


class Server:
    def __init__(self, refactor, venv, work, dynamic):
        self.repo = os.path.join(work, "repo-dyn" if dynamic else "repo-nodyn")
        args = [sys.executable, LOCAL, "python-repo", self.repo, "--refactor", refactor, "--quiet"]
        if not dynamic:
            args.append("--no-dynamic-batching")
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        self.port = free_port()
        self.log = open(os.path.join(work, f"triton-{'dyn' if dynamic else 'nodyn'}.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, LOCAL, "serve", self.repo, "--venv", venv, "--http-port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 240
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"tritonserver exited; see {self.log.name}")
            if get(self.url + "/v2/health/ready")[0] == 200:
                return
            time.sleep(0.5)
        raise SystemExit(f"tritonserver not ready; see {self.log.name}")

    def counts(self):
        status, body = get(f"{self.url}/v2/models/{MODEL}/stats")
        if status != 200:
            return 0, 0
        s = json.loads(body)["model_stats"][0]
        requests = s.get("inference_stats", {}).get("success", {}).get("count", 0)
        return int(requests), int(s.get("execution_count", 0))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def client_cmd(refactor, rule, fixture, rounds, server_url):
    one = [refactor, "apply", "--rule", rule, "--json", "-q", fixture]
    if server_url:
        one += ["--model-server", server_url]
    # One process per round, back to back, as a CI job running refactor repeatedly would.
    return [sys.executable, "-c", (
        "import subprocess, sys, json\n"
        "holes = 0\n"
        f"for _ in range({rounds}):\n"
        f"    out = subprocess.run({one!r}, capture_output=True, text=True)\n"
        "    if out.returncode != 0:\n"
        "        sys.stderr.write(out.stderr); sys.exit(2)\n"
        "    for line in out.stdout.splitlines():\n"
        "        holes += len(json.loads(line).get('holes') or [])\n"
        "print(holes)\n"
    )]


def measure(refactor, rule, fixture, clients, rounds, server_url, env):
    start = time.perf_counter()
    procs = [
        subprocess.Popen(client_cmd(refactor, rule, fixture, rounds, server_url), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(clients)
    ]
    holes = 0
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a client failed:\n{err}")
        holes += int(out.strip())
    return holes, time.perf_counter() - start


def venv_ort(venv):
    lib = os.path.join(venv, "lib")
    for py in sorted(os.listdir(lib)):
        capi = os.path.join(lib, py, "site-packages", "onnxruntime", "capi")
        if os.path.isdir(capi):
            for f in sorted(os.listdir(capi)):
                if f.startswith("libonnxruntime.so."):
                    return os.path.join(capi, f)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--refactor", default=None, help="binary (default: target/release/refactor, else target/debug)")
    ap.add_argument("--venv", default=os.path.join(ROOT, ".venv-triton"))
    ap.add_argument("--rule", default=os.path.join(ROOT, "rules/holes/py-return-type.yml"))
    ap.add_argument("--fixture", default=os.path.join(ROOT, "fixtures/holes/returns"))
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--rounds", type=int, default=2, help="runs per client")
    ap.add_argument("--no-in-process", action="store_true", help="skip the in-process reference column")
    a = ap.parse_args()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    refactor = a.refactor
    if not refactor:
        for profile in ("release", "debug"):
            cand = os.path.join(target, profile, "refactor")
            if os.path.exists(cand):
                refactor = cand
                break
    if not refactor or not os.path.exists(refactor):
        raise SystemExit("no refactor binary (cargo build --release, or --refactor PATH)")
    check = subprocess.run([sys.executable, LOCAL, "check", "--venv", a.venv], capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(f"Triton cannot run here: {check.stdout.strip()}")
    clients = [int(c) for c in a.clients.split(",")]
    env = dict(os.environ)
    env.pop("REFACTOR_MODEL_SERVER", None)
    print(f"refactor: {refactor}; {os.cpu_count()} CPUs; {a.rounds} runs per client; "
          f"rule {os.path.relpath(a.rule, ROOT)} on {os.path.relpath(a.fixture, ROOT)}", flush=True)

    results = {}
    with tempfile.TemporaryDirectory() as work:
        for dynamic in (True, False):
            server = Server(refactor, a.venv, work, dynamic)
            try:
                measure(refactor, a.rule, a.fixture, 1, 1, server.url + f"/v2/models/{MODEL}", env)  # warm-up
                for n in clients:
                    inf0, exe0 = server.counts()
                    holes, secs = measure(refactor, a.rule, a.fixture, n, a.rounds, server.url, env)
                    inf1, exe1 = server.counts()
                    rows = (inf1 - inf0) / max(1, exe1 - exe0)
                    results[(dynamic, n)] = (holes, secs, rows)
                    print(f"  dynamic batching {'on ' if dynamic else 'off'} {n:>2} clients: "
                          f"{holes} holes in {secs:.1f} s, {rows:.2f} requests per execution", flush=True)
            finally:
                server.stop()
        if not a.no_in_process:
            ort = venv_ort(a.venv)
            local_env = dict(env, REFACTOR_ENGINE="ort", **({"ORT_DYLIB_PATH": ort} if ort else {}))
            for n in clients:
                holes, secs = measure(refactor, a.rule, a.fixture, n, a.rounds, None, local_env)
                results[("local", n)] = (holes, secs, None)
                print(f"  in process {n:>2} clients: {holes} holes in {secs:.1f} s", flush=True)

    print()
    head = "| clients | dynamic batching on: holes/s (requests/exec) | off: holes/s (requests/exec) |"
    sep = "|---|---|---|"
    if not a.no_in_process:
        head += " in process: holes/s |"
        sep += "---|"
    print(head)
    print(sep)
    for n in clients:
        cells = []
        for dyn in (True, False):
            holes, secs, rows = results[(dyn, n)]
            cells.append(f"{holes / secs:.2f} ({rows:.2f})")
        line = f"| {n} | " + " | ".join(cells) + " |"
        if not a.no_in_process:
            holes, secs, _ = results[("local", n)]
            line += f" {holes / secs:.2f} |"
        print(line)


if __name__ == "__main__":
    main()
