//! Prints the canvas rows the runtime builds, as JSON, to cross-check the layout with
//! the trainer's row builder (docs/canvas.md).
//!
//! ```text
//! echo '{"model": "model/default", "files": [{"path": "a.py", "text": "x:  = 1\n",
//!   "holes": [{"offset": 3, "max_tokens": 8}]}], "context": [["b.py", "def f(): pass\n"]]}' \
//!   | cargo run --example canvas_dump
//! ```
//! Output: `{"rows": [{"file": 0, "ids": [...], "slots": [[hole, start], ...]}]}`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Result;
use refactor::denoise::canvas::Canvas;
use refactor::denoise::model::Model;
use refactor::denoise::{ContextIndex, FileHoles, HoleSite, ModelSource};
use serde::Deserialize;

#[derive(Deserialize)]
struct Input {
    model: PathBuf,
    files: Vec<InFile>,
    #[serde(default)]
    context: Vec<(PathBuf, String)>,
}

#[derive(Deserialize)]
struct InFile {
    path: PathBuf,
    text: String,
    holes: Vec<InHole>,
}

#[derive(Deserialize)]
struct InHole {
    offset: usize,
    max_tokens: usize,
    #[serde(default)]
    tie_key: Option<String>,
}

fn main() -> Result<()> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    let input: Input = serde_json::from_str(&s)?;
    let model = Model::load(&ModelSource::Path(input.model))?;
    let files: Vec<FileHoles> = input
        .files
        .into_iter()
        .map(|f| FileHoles {
            path: f.path,
            text: f.text,
            holes: f
                .holes
                .into_iter()
                .enumerate()
                .map(|(i, h)| HoleSite {
                    name: format!("H{i}"),
                    offset: h.offset,
                    max_tokens: h.max_tokens,
                    tie_key: h.tie_key,
                })
                .collect(),
        })
        .collect();
    let ctx = ContextIndex::build(input.context);
    let canvas = Canvas::build(&files, &ctx, &model)?;
    let rows: Vec<serde_json::Value> = canvas
        .rows
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let len = row.mask.iter().filter(|&&m| m == 1).count();
            let slots: Vec<(usize, usize)> = canvas
                .slots
                .iter()
                .flat_map(|s| {
                    std::iter::once((s.hole, s.owner))
                        .chain(s.mirrors.iter().map(move |m| (s.hole, *m)))
                })
                .filter(|(_, o)| o.row == r)
                .map(|(h, o)| (h, o.start))
                .collect();
            serde_json::json!({"file": row.file, "ids": &row.ids[..len], "slots": slots})
        })
        .collect();
    println!("{}", serde_json::json!({ "rows": rows }));
    Ok(())
}
