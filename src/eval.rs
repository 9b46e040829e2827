//! `refactor eval`: measures hole filling on code that already has the
//! answers. (Implemented with the model-filled rules; see issue 5.)

use crate::cli::flags::EvalArgs;

pub fn run(args: EvalArgs) -> anyhow::Result<i32> {
    anyhow::bail!("eval task `{}` is not available yet", args.task)
}
