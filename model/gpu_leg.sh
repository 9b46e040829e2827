#!/bin/bash
# One GPU leg for the device tool: two trainings side by side on one GPU.
#   A continues the shipped model (model/default; weights read back from its ONNX file);
#   B trains a larger model (d384 x 6 layers by default) from scratch.
# Checkpoints are copied into $OUT every 30 s, so a run cut off by its limit still returns weights;
# fp16 weights come back split (the tool returns at most 16 MB per file): cat B.part.* > B.fp16.pt.
#
# Here:   mkdir -p .gpu && gzip -c model/data/train.idx.pkl > .gpu/train.idx.pkl.gz
#         gzip -c model/data/val.idx.pkl > .gpu/val.idx.pkl.gz      (.gpu/ is git-ignored)
# Device: run(command="MIN=8 bash model/gpu_leg.sh", carry=[".gpu"], timeout_s=600)
#   the second leg: RUNS=A MIN=3 W=14 LR_A=4e-4 WARM_A=50 KW_A=ret=0.19,...,let=0.04 (continue the shipped model)
#   model D's leg:  RUNS=A MIN=8.2 W=14 LR_A=6e-4 WARM_A=100 (one run alone, 1.05 M tokens/s on an H200)
# Kind weights: `let` at 0.16 overfit its ~4k sites (model card); 0.05 with `rtype` at 0.12 did not.
# CPU smoke test: PY=model/.venv/bin/python DEV=cpu MIN=0.5 W=1 BATCH=8 BF= BD=128 BL=2 BH=2 bash model/gpu_leg.sh
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-python3}; DEV=${DEV:-cuda}; MIN=${MIN:-8}; W=${W:-7}; BATCH=${BATCH:-256}; BF=${BF:---bf16}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
{ date; nvidia-smi --query-gpu=name,memory.total --format=csv; df -h /dev/shm; nproc; free -g;
  $PY -c "import torch,tokenizers;print(torch.__version__,tokenizers.__version__,torch.cuda.is_available())"; } > "$OUT/info.txt" 2>&1
mkdir -p model/data
[ -f model/data/val.idx.pkl ] || { gunzip -c .gpu/train.idx.pkl.gz > model/data/train.idx.pkl & gunzip -c .gpu/val.idx.pkl.gz > model/data/val.idx.pkl; wait; }
C="--device $DEV $BF --threads 1 --time-cosine --steps 1000000 --mdlm-frac 0.15 --prefix-reveal 0.4 --eoh-pad-weight 0.1
   --kind-weights ret=0.17,param=0.17,kwarg=0.16,local=0.15,let=0.05,rtype=0.12,ident=0.18 --workers $W
   --save-every 200 --eval-every 400 --minutes $MIN --batch $BATCH"
# RUNS picks the runs (default both); KW_A and LR_A tune run A (a short continuation, say)
PA=0; PB=0
if [[ " ${RUNS:-A B} " == *" A "* ]]; then
  $PY model/train.py $C --init model/default --restart-schedule --warmup "${WARM_A:-100}" --rewarmup 1 \
     --lr "${LR_A:-8e-4}" ${KW_A:+--kind-weights "$KW_A"} --ckpt /tmp/ckA > "$OUT/trainA.log" 2>&1 &
  PA=$!
fi
if [[ " ${RUNS:-A B} " == *" B "* ]]; then
  $PY model/train.py $C --d "${BD:-384}" --layers "${BL:-6}" --heads "${BH:-6}" --shift --pointer --induction \
     --induction2 --warmup 200 --lr 1e-3 --seed 7 --ckpt /tmp/ckB > "$OUT/trainB.log" 2>&1 &
  PB=$!
fi
sync_out() {  # weights over the tool's 16 MB per file come back split: cat A.part.* > A.fp16.pt
  for r in A B; do
    [ -f /tmp/ck$r/weights.fp16.pt ] && cp /tmp/ck$r/weights.fp16.pt /tmp/$r.snap && rm -f "$OUT"/$r.part.* &&
      split -b 15000000 /tmp/$r.snap "$OUT/$r.part."
  done
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> "$OUT/info.txt" 2>/dev/null
}
while { [ $PA != 0 ] && kill -0 $PA 2>/dev/null; } || { [ $PB != 0 ] && kill -0 $PB 2>/dev/null; }; do sleep 30; sync_out; done
sync_out
wait
date >> "$OUT/info.txt"
ls -la "$OUT"
tail -n 3 "$OUT"/train*.log
