#!/bin/bash
# Submits a dataset as a Slurm job array of SHARDS tasks and a merge job that runs once every
# task has succeeded; prints the two job ids.
#
#   submit.sh SHARDS OUT_DIR INPUT [querylens batch options...]
#   e.g. submit.sh 16 results/coco @coco-images.txt --model /models/blip2-opt-2.7b --precision bf16
#
# sbatch options for both jobs (partition, account, time limit, --cpus-per-task) can be given
# in $SBATCH_OPTIONS. Run it again after a failure: finished images are skipped.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 SHARDS OUT_DIR INPUT [querylens batch options...]" >&2
    exit 2
fi
shards=$1
out_dir=$2
input=$3
shift 3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out_dir/logs"
# shellcheck disable=SC2086 # SBATCH_OPTIONS is a list of options
array=$(sbatch --parsable ${SBATCH_OPTIONS:-} --array="0-$((shards - 1))" \
    --output="$out_dir/logs/batch-%A_%a.log" "$here/querylens-batch.sbatch" "$out_dir" "$input" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_OPTIONS:-} --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --output="$out_dir/logs/merge-%j.log" "$here/querylens-merge.sbatch" "$out_dir" "$input")
merge=${merge%%;*}
echo "$array $merge"
