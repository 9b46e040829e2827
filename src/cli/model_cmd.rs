//! `refactor model`: commands about the denoiser model itself.
//! `export-triton` writes a Triton model repository entry for it.

use super::flags::{ExportTritonArgs, ModelCmdArgs, ModelCommand};
use super::EXIT_OK;
use crate::denoise::model::Model;
use crate::denoise::triton::{self, TritonOptions};
use crate::denoise::ModelSource;

pub fn run(args: ModelCmdArgs) -> anyhow::Result<i32> {
    match args.command {
        ModelCommand::ExportTriton(a) => export_triton(a),
    }
}

fn export_triton(a: ExportTritonArgs) -> anyhow::Result<i32> {
    let src = match &a.model {
        Some(p) => ModelSource::Path(p.clone()),
        None => ModelSource::Default,
    };
    let model = Model::load(&src)?;
    let opts = TritonOptions {
        name: a.name.clone(),
        max_batch_size: a.max_batch_size,
        dynamic_batching: !a.no_dynamic_batching,
        tensorrt: a.tensorrt,
    };
    let dir = triton::export(&model, &a.dir, &opts, a.force)?;
    eprintln!(
        "refactor: wrote the Triton model `{}` ({}) to {}; serve it with \
         `tritonserver --model-repository {}` and run refactor with \
         `--model-server http://HOST:8000/v2/models/{}`",
        opts.name,
        model.origin,
        dir.display(),
        a.dir.display(),
        opts.name
    );
    Ok(EXIT_OK)
}
