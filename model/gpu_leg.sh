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
# Model E (prepared, not trained; model/README.md "Model E"): run B alone, d512 x 8, on the typed index:
#   Here:   xz -T1 -6 -c model/data/train.idx.pkl > .gpu/train.idx.pkl.xz (val likewise; .xz is read
#           before .gz; xz packs smaller: the index with the stubs is 140 MB unpacked)
#   Device: run(command="RUNS=B MIN=8.5 W=14 BD=512 BL=8 BH=8 LR_B=8e-4 bash model/gpu_leg.sh", carry=[".gpu"], timeout_s=600)
# KW sets both runs' kind weights, KW_B / LR_B / WARM_B / SEED_B tune run B.
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-python3}; DEV=${DEV:-cuda}; MIN=${MIN:-8}; W=${W:-7}; BATCH=${BATCH:-256}; BF=${BF:---bf16}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
{ date; nvidia-smi --query-gpu=name,memory.total --format=csv; df -h /dev/shm; nproc; free -g;
  $PY -c "import torch,tokenizers;print(torch.__version__,tokenizers.__version__,torch.cuda.is_available())"; } > "$OUT/info.txt" 2>&1
mkdir -p model/data
unpack() {  # .gpu/NAME.xz if present, else .gpu/NAME.gz
  if [ -f ".gpu/$1.xz" ]; then  # Python's lzma: no xz binary needed there
    $PY -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" ".gpu/$1.xz" "model/data/$1"
  else gunzip -c ".gpu/$1.gz" > "model/data/$1"; fi
}
[ -f model/data/val.idx.pkl ] || { unpack train.idx.pkl & unpack val.idx.pkl; wait; }
ls -la model/data >> "$OUT/info.txt"
KW=${KW:-ret=0.17,param=0.17,kwarg=0.16,local=0.15,let=0.05,rtype=0.12,ident=0.18}
C="--device $DEV $BF --threads 1 --time-cosine --steps 1000000 --mdlm-frac 0.15 --prefix-reveal 0.4 --eoh-pad-weight 0.1
   --kind-weights $KW --workers $W
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
     --induction2 --warmup "${WARM_B:-200}" --lr "${LR_B:-1e-3}" --seed "${SEED_B:-7}" ${KW_B:+--kind-weights "$KW_B"} \
     --ckpt /tmp/ckB > "$OUT/trainB.log" 2>&1 &
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
