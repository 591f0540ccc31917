#!/usr/bin/env bash
# Throughput of `querylens batch` against captioning the same images one by one with
# `querylens caption IMAGE...` (one process, one image after the other), in the same run, on a
# BLIP-2 of real widths with random weights (written by querylens-bench --save-checkpoint).
#
#   tests/bench/batch_throughput.sh BUILD_DIR [--model blip2-opt-2.7b] [--precision bf16]
#       [--scale F] [--images 64] [--batch-size 8] [--max-new-tokens 20] [--threads N] [--keep DIR]
#
# Both runs load the model once (a memory map of the checkpoint in the page cache); the figures
# are images per second after loading. Random weights rarely produce the end token, so most
# captions run to --max-new-tokens: both runs generate exactly the same tokens (batch
# decoding gives each image the tokens it gets alone), so they do the same work. The text
# has no meaning: the tokenizer is the demo model's (`querylens make-demo-model`), and ids it
# does not have are skipped when the tokens are turned into text.
set -euo pipefail

build=${1:?usage: batch_throughput.sh BUILD_DIR [options]}
shift
model=blip2-opt-2.7b
precision=bf16
scale=1
images=64
batch_size=8
tokens=20
threads=$(nproc)
keep=
while [ $# -gt 0 ]; do
    case $1 in
    --model) model=$2 ;;
    --precision) precision=$2 ;;
    --scale) scale=$2 ;;
    --images) images=$2 ;;
    --batch-size) batch_size=$2 ;;
    --max-new-tokens) tokens=$2 ;;
    --threads) threads=$2 ;;
    --keep) keep=$2 ;;
    *)
        echo "batch_throughput.sh: unknown option $1" >&2
        exit 2
        ;;
    esac
    shift 2
done
querylens=$build/app/querylens
bench=$build/tests/bench/querylens-bench
[ -x "$querylens" ] && [ -x "$bench" ] || {
    echo "batch_throughput.sh: build $build first (no $querylens or $bench)" >&2
    exit 2
}

if [ -n "$keep" ]; then
    work=$keep
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi

# The checkpoint (once: --keep DIR reuses it) with the demo model's tokenizer beside it.
checkpoint=$work/checkpoint-$model-$precision-$scale
if [ ! -f "$checkpoint/config.json" ]; then
    "$bench" --save-checkpoint "$checkpoint" --model "$model" --precision "$precision" --scale "$scale"
    "$querylens" make-demo-model "$work/demo" >/dev/null
    cp "$work/demo"/{vocab.json,merges.txt} "$checkpoint/"
fi

# Photographs' sizes (640 x 480), their pixels a smooth pattern that differs per image, as PNG.
mkdir -p "$work/images"
python3 - "$work/images" "$images" <<'EOF'
import math, os, struct, sys, zlib
folder, count = sys.argv[1], int(sys.argv[2])
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for i in range(count):
    path = os.path.join(folder, "image%03d.png" % i)
    if os.path.exists(path):
        continue
    w, h = 640, 480
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            rows += bytes((int(127 + 127 * math.sin(x * (i + 3) / 97.0)),
                           int(127 + 127 * math.cos(y * (i + 5) / 89.0)),
                           (x * y + 31 * i) & 255))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
EOF
mapfile -t files < <(ls "$work"/images/image*.png | head -n "$images")

common=(--model "$checkpoint" --precision "$precision" --threads "$threads" --max-new-tokens "$tokens")
now() { date +%s.%N; }

cpuinfo() { sed -n "s/^$1[[:space:]]*: //p" /proc/cpuinfo | head -n 1; }
echo "cpu: $(cpuinfo 'model name') (family $(cpuinfo 'cpu family') model $(cpuinfo model)), $(nproc) cores;" \
    "avx512_bf16: $(grep -q avx512_bf16 /proc/cpuinfo && echo yes || echo no); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "model: $model (random weights, layers x$scale), $precision, $threads threads, ${#files[@]} images, $tokens new tokens at most" >&2

# One by one: `querylens caption` of every image in one process.
start=$(now)
"$querylens" caption "${files[@]}" "${common[@]}" --json >"$work/caption.out"
end=$(now)
load_ms=$(grep -o '"load":[0-9.e+-]*' "$work/caption.out" | head -n 1 | cut -d: -f2)
caption_s=$(python3 -c "print($end - $start - $load_ms / 1000)")
caption_tokens=$(python3 - "$work/caption.out" <<'EOF'
import json, sys
print(sum(len(json.loads(l[l.index("{"):])["token_ids"]) for l in open(sys.argv[1]) if "{" in l))
EOF
)

# In batches.
rm -f "$work/batch.jsonl"
"$querylens" batch "${files[@]}" "${common[@]}" --batch-size "$batch_size" --out "$work/batch.jsonl" --json \
    2>"$work/batch.err" >"$work/batch.out"
batch_s=$(python3 -c "import json; print(json.loads(open('$work/batch.out').read().splitlines()[-1])['seconds'])")
same=$(python3 - "$work/caption.out" "$work/batch.jsonl" <<'EOF'
import json, sys
alone = {}
for line in open(sys.argv[1]):
    if "{" in line:
        r = json.loads(line[line.index("{"):])
        alone[r["image"]] = r["token_ids"]
batch = {r["key"]: r["token_ids"] for r in map(json.loads, open(sys.argv[2]))}
print(sum(1 for k, v in batch.items() if alone.get(k) == v), "of", len(alone))
EOF
)

python3 - "${#files[@]}" "$caption_s" "$batch_s" "$batch_size" "$caption_tokens" "$same" <<'EOF'
import sys
n, one, batch, b, tokens = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
same = sys.argv[6]
print(f"one by one (querylens caption): {n / one:.3f} images/s ({one:.1f} s, {tokens} tokens)")
print(f"querylens batch --batch-size {b}: {n / batch:.3f} images/s ({batch:.1f} s)")
print(f"batch / one by one: {one / batch:.2f}x; same tokens for {same} images")
EOF
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
