//! Embeds the default denoiser model when `model/default/` holds one (design §6).
use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(refactor_default_model)");
    println!("cargo::rustc-check-cfg=cfg(refactor_default_cpu_graph)");
    println!("cargo::rerun-if-changed=build.rs");
    let dir = Path::new("model/default");
    let files = ["model.onnx", "tokenizer.json", "model.json"];
    // Watch the folder only once it exists: a missing path would rerun this script (and
    // rebuild the crate) on every build. A fresh checkout with model/default builds it in.
    if dir.is_dir() {
        println!("cargo::rerun-if-changed=model/default");
        for f in files {
            println!("cargo::rerun-if-changed=model/default/{f}");
        }
        if files.iter().all(|f| dir.join(f).is_file()) {
            println!("cargo::rustc-cfg=refactor_default_model");
            // The optional ONNX Runtime CPU graph (model/cpu_graph.py).
            if dir.join("model.cpu.onnx").is_file() {
                println!("cargo::rerun-if-changed=model/default/model.cpu.onnx");
                println!("cargo::rustc-cfg=refactor_default_cpu_graph");
            }
        }
    }
}
