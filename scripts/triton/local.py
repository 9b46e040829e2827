#!/usr/bin/env python3
"""Run a real Triton Inference Server on 127.0.0.1 from PyPI's nvidia-pytriton wheel.

The wheel (nvidia-pytriton 0.7.0, manylinux_2_35 x86_64, 55 MB download,
about 150 MB installed) ships the `tritonserver` binary (Triton 2.51) with
the Python backend only: no ONNX Runtime backend. So the model repository
built here serves the denoiser through a Python-backend model
(scripts/triton/model.py) that runs the same ONNX file with onnxruntime.

How the binary is started without pytriton's Python API (what `serve` does):
- binary: site-packages/pytriton/tritonserver/bin/tritonserver; its shared
  libraries are in site-packages/nvidia_pytriton.libs (LD_LIBRARY_PATH).
- backend folder: a copy of pytriton/tritonserver/backends/python plus the
  stub for the running Python version,
  pytriton/tritonserver/python_backend_stubs/3.X/triton_python_backend_stub,
  copied in as backends/python/triton_python_backend_stub.
- the stub links libpython3.X.so.1.0: the folder of the interpreter's
  shared library goes on LD_LIBRARY_PATH (a Python built without
  --enable-shared cannot run it).
- the stub's embedded Python ignores PYTHONPATH and PYTHONHOME; it takes its
  environment from the first `python3` on PATH (through that venv's
  pyvenv.cfg). So the venv's bin folder goes first on PATH, and that venv
  must hold numpy < 2 (the stub was built against numpy 1.x: with numpy 2
  every tensor arrives with zero strides and responses come back empty) and
  onnxruntime.
- `--http-address 127.0.0.1 --http-port P --allow-grpc false
  --allow-metrics false`; without a GPU the server logs that CUDA is
  unavailable and runs on the CPU.

Commands:
  setup VENV                      create the venv with the pinned wheels
  check --venv VENV               say whether the wheel can run here (exit 1 and the reason if not)
  python-repo REPO --refactor BIN export the model with `BIN model export-triton` and turn
                                  it into a Python-backend model
  serve REPO --venv VENV --http-port P   exec tritonserver (the process becomes the server)
"""

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))
PYTRITON = "nvidia-pytriton==0.7.0"
PINNED = ["numpy==1.26.4", "onnxruntime==1.32.0"]


def venv_python(venv):
    return os.path.join(venv, "bin", "python3")


def probe(venv):
    """Facts about the venv's interpreter (run inside it)."""
    code = r"""
import importlib.util, json, os, sys, sysconfig
out = {"version": "%d.%d" % sys.version_info[:2],
       "libdir": sysconfig.get_config_var("LIBDIR") or "",
       "ldlibrary": sysconfig.get_config_var("LDLIBRARY") or "",
       "shared": bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))}
spec = importlib.util.find_spec("pytriton")
out["pytriton"] = list(spec.submodule_search_locations)[0] if spec else ""
try:
    import numpy
    out["numpy"] = numpy.__version__
except Exception as e:
    out["numpy"] = ""
out["onnxruntime"] = bool(importlib.util.find_spec("onnxruntime"))
print(json.dumps(out))
"""
    import json

    res = subprocess.run([venv_python(venv), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def layout(venv):
    """Paths needed to start the server, or raise RuntimeError with why it cannot run."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        raise RuntimeError(f"the wheel is for Linux x86_64, this is {platform.system()} {platform.machine()}")
    libc = platform.libc_ver()
    if libc[0] == "glibc" and tuple(int(x) for x in libc[1].split(".")[:2]) < (2, 35):
        raise RuntimeError(f"the wheel needs glibc >= 2.35 (manylinux_2_35), this system has {libc[1]}")
    if not os.path.exists(venv_python(venv)):
        raise RuntimeError(f"no venv at {venv} (run `python3 scripts/triton/local.py setup {venv}`)")
    p = probe(venv)
    if not p["pytriton"]:
        raise RuntimeError(f"{PYTRITON} is not installed in {venv}")
    root = os.path.join(p["pytriton"], "tritonserver")
    binary = os.path.join(root, "bin", "tritonserver")
    libs = os.path.join(os.path.dirname(p["pytriton"]), "nvidia_pytriton.libs")
    stub = os.path.join(root, "python_backend_stubs", p["version"], "triton_python_backend_stub")
    if not os.path.exists(binary):
        raise RuntimeError(f"{binary} is missing")
    if not os.path.exists(stub):
        have = sorted(os.listdir(os.path.join(root, "python_backend_stubs")))
        raise RuntimeError(
            f"the wheel has no Python backend stub for Python {p['version']} (it has {', '.join(have)})"
        )
    libpython = f"libpython{p['version']}.so.1.0"
    if not p["shared"] or not os.path.exists(os.path.join(p["libdir"], libpython)):
        raise RuntimeError(
            f"the Python backend stub needs {libpython}, which this Python ({venv_python(venv)}) "
            "does not have (built without --enable-shared)"
        )
    if not p["numpy"]:
        raise RuntimeError(f"numpy is not installed in {venv}")
    if int(p["numpy"].split(".")[0]) >= 2:
        raise RuntimeError(
            f"{venv} has numpy {p['numpy']}; the wheel's Python backend stub needs numpy < 2"
        )
    if not p["onnxruntime"]:
        raise RuntimeError(f"onnxruntime is not installed in {venv}")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        x for x in [libs, p["libdir"], os.environ.get("LD_LIBRARY_PATH", "")] if x
    )
    env["PATH"] = os.path.join(os.path.abspath(venv), "bin") + os.pathsep + os.environ.get("PATH", "")
    # The server's own output is enough; keep Python's from buffering it.
    env["PYTHONUNBUFFERED"] = "1"
    res = subprocess.run([binary, "--help"], env=env, capture_output=True, text=True)
    if "--model-repository" not in res.stdout + res.stderr:
        raise RuntimeError(f"{binary} does not run here: {(res.stderr or res.stdout).strip()[:300]}")
    return {"binary": binary, "root": root, "stub": stub, "env": env}


def cmd_setup(a):
    if not os.path.exists(venv_python(a.venv)):
        subprocess.run([sys.executable, "-m", "venv", a.venv], check=True)
    pip = [venv_python(a.venv), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # numpy and onnxruntime first: pip checks installed packages' requirements
    # on every install, and pytriton's own (tritonclient, grpc, …) are not wanted.
    subprocess.run(pip + PINNED, check=True)
    subprocess.run(pip + ["--no-deps", PYTRITON], check=True)
    print(f"{a.venv}: {PYTRITON} (no dependencies), {', '.join(PINNED)}")


def cmd_check(a):
    try:
        lay = layout(a.venv)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(e)
        return 1
    print(f"ok: {lay['binary']} with {lay['stub']}")
    return 0


def cmd_python_repo(a):
    args = [a.refactor, "model", "export-triton", a.repo, "--name", a.name, "--force"]
    args += ["--max-batch-size", str(a.max_batch_size)]
    if a.model:
        args += ["--model", a.model]
    if a.no_dynamic_batching:
        args.append("--no-dynamic-batching")
    res = subprocess.run(args, stderr=subprocess.PIPE if a.quiet else None, text=True)
    if res.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{res.stderr or ''}")
    folder = os.path.join(a.repo, a.name)
    config_path = os.path.join(folder, "config.pbtxt")
    with open(config_path) as f:
        config = f.read()
    config, n = re.subn(r'^backend: "onnxruntime"$', 'backend: "python"', config, flags=re.M)
    assert n == 1, config
    config += f"instance_group [ {{ kind: KIND_CPU count: {a.instances} }} ]\n"
    with open(config_path, "w") as f:
        f.write(config)
    shutil.copy(os.path.join(HERE, "model.py"), os.path.join(folder, "1", "model.py"))
    print(folder)


def cmd_serve(a):
    lay = layout(a.venv)
    backends = os.path.abspath(
        a.backends or os.path.join(os.path.dirname(os.path.abspath(a.repo)), "triton-backends")
    )
    py = os.path.join(backends, "python")
    os.makedirs(py, exist_ok=True)
    src = os.path.join(lay["root"], "backends", "python")
    for name in os.listdir(src):
        if os.path.isfile(os.path.join(src, name)):
            shutil.copy2(os.path.join(src, name), os.path.join(py, name))
    shutil.copy2(lay["stub"], os.path.join(py, "triton_python_backend_stub"))
    argv = [
        lay["binary"],
        "--model-repository", os.path.abspath(a.repo),
        "--backend-directory", backends,
        "--http-address", "127.0.0.1",
        "--http-port", str(a.http_port),
        "--allow-grpc", "false",
        "--allow-metrics", "false",
        "--exit-timeout-secs", "5",
        # A region per server, sized for a batch of logits, so two servers never share one.
        "--backend-config", f"python,shm-region-prefix-name=refactor{os.getpid()}_",
        "--backend-config", "python,shm-default-byte-size=16777216",
        "--backend-config", "python,shm-growth-byte-size=67108864",
    ]
    sys.stdout.flush()
    os.execve(lay["binary"], argv, lay["env"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("venv")
    s = sub.add_parser("check")
    s.add_argument("--venv", required=True)
    s = sub.add_parser("python-repo")
    s.add_argument("repo")
    s.add_argument("--refactor", required=True, help="the refactor binary")
    s.add_argument("--model", help="model folder (default: the shipped model)")
    s.add_argument("--name", default="refactor-denoiser")
    s.add_argument("--max-batch-size", type=int, default=64)
    s.add_argument("--instances", type=int, default=1)
    s.add_argument("--no-dynamic-batching", action="store_true")
    s.add_argument("--quiet", action="store_true")
    s = sub.add_parser("serve")
    s.add_argument("repo")
    s.add_argument("--venv", required=True)
    s.add_argument("--http-port", type=int, required=True)
    s.add_argument("--backends", help="backend folder to prepare (default: triton-backends beside REPO)")
    a = ap.parse_args()
    return {"setup": cmd_setup, "check": cmd_check, "python-repo": cmd_python_repo, "serve": cmd_serve}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
