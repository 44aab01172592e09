#!/bin/bash
# Issue 19's GPU checks in one device call, with random weights of real architectures (a lent GPU
# machine has no network and takes at most 64 MiB per call, so weights cannot travel). Run on the
# H200 on 2026-12-04 as .gpu/device.sh (this file minus this header); figures in
# docs/throughput-history.md ("Continuous batching and the out-of-memory halving on an H200").
#
# 1. throughput.py on the Qwen2.5-0.5B architecture (bf16): pipeline, biasprobe (continuous),
#    biasprobe-generate, 256 x 64 and 64 x 64;  2. a real CUDA out-of-memory error: the Qwen2.5-7B
#    architecture with an EOS-only LM head, batch_size 1024, max_new_tokens 4096, the three shipped
#    sets (840 prompts) via `biasprobe run`;  1c. float32 greedy agreement, continuous vs
#    generate;  3. the three shipped sets on the 7B architecture, 128 new tokens, batch_size auto.
#
# Prepare .gpu/ in the repo root on the CPU machine (.gpu/ listed in .git/info/exclude):
#   mkdir -p .gpu/tok .gpu/whl && cp -r src benchmarks probes models.yaml .gpu/
#   C=~/.cache/biasprobe/converted/<sha256 of the default GGUF>   # the default model, converted
#   cp $C/config.json .gpu/cfg05.json
#   cp $C/tokenizer.json $C/tokenizer_config.json $C/chat_template.jinja $C/generation_config.json .gpu/tok/
#   cp benchmarks/data/gpu/qwen2.5-7b-config.json .gpu/cfg7b.json; cp benchmarks/data/gpu/models.yaml .gpu/m.yaml
#   wheels biasprobe needs and the machine lacks, into .gpu/whl (pip download --no-deps; pydantic_core
#   with --only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_17_x86_64):
#   pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
#   typing_extensions==4.16.0 langcodes==3.5.1
# Device command (carry [".gpu"], timeout 420 s; it took 309 s):
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
#     .gpu/whl/*.whl && export PYTHONPATH=/tmp/site:.gpu/src && set -o pipefail && \
#     bash .gpu/benchmarks/gpu_check.sh 2>&1 | grep --line-buffered -v "Loading weights\|Writing model" | tee $OUT/log
# CPU rehearsal (2 layers, a few prompts; PYTHONPATH=.gpu/src):
#   PY=.venv/bin/python DEVICE=cpu LAYERS=2 P1=16 P2=8 NEW=8 OOMBS=64 OOMNEW=64 LIMIT="--limit 24" \
#     SETSNEW=8 DEADLINE=600 OUT=/tmp/out bash .gpu/benchmarks/gpu_check.sh
set -o pipefail
DEVICE=${DEVICE:-cuda}; LAYERS=${LAYERS:-0}; P1=${P1:-256}; P2=${P2:-64}; NEW=${NEW:-64}
OOMBS=${OOMBS:-1024}; OOMNEW=${OOMNEW:-4096}; LIMIT=${LIMIT:-}; SETSNEW=${SETSNEW:-128}
DEADLINE=${DEADLINE:-395}; OUT=${OUT:-/tmp/out}; mkdir -p $OUT
export PYTHONUNBUFFERED=1 BIASPROBE_HOME=/tmp/bph BIASPROBE_OUTPUTS=/tmp/bpo HF_HUB_OFFLINE=1 \
  TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
G=.gpu; B=.gpu/benchmarks; PY=${PY:-python3}
M=$G/m.yaml
if [ "$DEVICE" != cuda ]; then sed -e "s/device: cuda/device: $DEVICE/" $M > /tmp/m-$DEVICE.yaml; M=/tmp/m-$DEVICE.yaml; fi
t0=$(date +%s)
stamp() { echo "=== $(( $(date +%s) - t0 )) s: $*"; }
left() { local l=$(( DEADLINE - ($(date +%s) - t0) )); [ $l -gt $1 ] && l=$1; [ $l -lt 5 ] && l=5; echo $l; }
TP="--models $M --model rand-0.5b --methods pipeline,biasprobe,biasprobe-generate --max-new-tokens $NEW --no-engine --no-memory --no-ceiling --threads 16"
SETS="--models $M -m rand-7b -p china-sensitive -p controls -p mirror $LIMIT --no-score --no-progress"
stamp env
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null
$PY -c "import torch, transformers, pydantic, langcodes, biasprobe.cli; print('torch', torch.__version__, 'transformers', transformers.__version__, 'pydantic', pydantic.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')" || exit 4
stamp make models
$PY $B/gpu_random.py make --config $G/cfg05.json --tokenizer $G/tok --out /tmp/rand-0.5b --layers $LAYERS --save --device $DEVICE || exit 5
$PY $B/gpu_random.py make --config $G/cfg7b.json --tokenizer $G/tok --out /tmp/rand-7b --layers $LAYERS || exit 5
stamp "1. throughput rand-0.5b bf16 $P1 x $NEW"
timeout $(left 130) $PY $B/throughput.py $TP --prompts $P1 --pipeline-batch-size $P1 --json $OUT/t$P1.json
stamp "2. OOM: rand-7b bf16, EOS head, batch_size $OOMBS, max_new_tokens $OOMNEW"
timeout $(left 80) $PY $B/gpu_random.py run --eos-head -- $SETS --batch-size $OOMBS --max-new-tokens $OOMNEW --run-id oom7b
stamp "1b. throughput rand-0.5b bf16 $P2 x $NEW"
timeout $(left 80) $PY $B/throughput.py $TP --prompts $P2 --pipeline-batch-size $P2 --json $OUT/t$P2.json
stamp "1c. float32 agreement continuous vs generate, rand-0.5b, $P2 x $NEW"
timeout $(left 50) $PY $B/gpu_random.py agree --models $M --model rand-0.5b --dtype float32 --prompts $P2 --max-new-tokens $NEW
stamp "3. three shipped sets, rand-7b bf16, auto, max_new_tokens $SETSNEW"
timeout $(left 90) $PY $B/gpu_random.py run -- $SETS --max-new-tokens $SETSNEW --run-id sets7b
stamp done
for d in oom7b sets7b; do [ -f /tmp/bpo/$d/manifest.json ] && cp /tmp/bpo/$d/manifest.json $OUT/manifest-$d.json; done
true
