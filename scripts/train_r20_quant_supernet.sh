#!/usr/bin/env bash
# The CIFAR-10 supernet issue 14's quantization benchmark measures on: ResNet20 pooling placement (36
# placements), single-path uniform sampling (spos), 20 epochs on all of CIFAR-10 less 5,000 held-out images,
# SGD lr 0.1, momentum 0.9, weight decay 5e-4, batch 128, cosine to 1% of the learning rate.
# About 4.5 min an epoch on 2 quiet cores (12 min at load 4). Resumable: rerun this script and it continues
# exactly where it stopped. The finished run is committed: artifacts/r20_spos/supernet.pt (see its README).
#   bash scripts/train_r20_quant_supernet.sh [RUN_DIR] [DATA]
set -euo pipefail
RUN=${1:-runs/r20_spos}
DATA=${2:-../shared/data/images/cifar10_jpg_60000.tar.gz}
if [ -f "$RUN/checkpoints/last.pt" ]; then
    exec nas train --resume "$RUN" --threads 2
fi
exec nas train --space resnet20-pooling --strategy spos --epochs 20 --batch-size 128 --lr 0.1 --weight-decay 5e-4 \
    --holdout 5000 --data "$DATA" --out "$RUN" --threads 2
