#!/usr/bin/env bash
# Loopback throughput of `querylens download` against curl fetching the same file from the mock
# Hub's CDN, alternating, in the same run (the machine is shared: compare within a run).
#   bash tests/hub/throughput.sh [BUILD_DIR] [SIZE_MB] [REPEATS]
# Prints MB/s of: curl to a file; curl piped through sha256sum (the same work as ours: fetch and
# hash); querylens download (fetch, sha256 while streaming, fsync, rename, link).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
size_mb=${2:-1024}
repeats=${3:-3}
work=$(mktemp -d /tmp/querylens-throughput.XXXXXX)
trap 'rm -rf "$work"' EXIT

head -c "${size_mb}M" /dev/urandom > "$work/big.bin"
coproc MOCK { exec /usr/bin/python3 "$root/tests/hub/mock_hub.py" "$root/../shared/fixtures" --big-file "$work/big.bin"; }
read -r _ hub_port _ cdn_port <&"${MOCK[0]}"
sha=$(sha256sum "$work/big.bin" | cut -d' ' -f1)
url="http://127.0.0.1:$cdn_port/$sha?file=test%2Fbig%3Amodel.safetensors&token=0"
bytes=$((size_mb * 1024 * 1024))

rate() { python3 -c "import sys; print(f'{$bytes / ($2 - $1) / 1e6:.0f}')" "$1" "$2"; }
echo "file: $size_mb MiB; CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(nproc) cores"
echo "run  curl-to-file  curl|sha256sum  querylens-download (whole command; its transfer alone)   (MB/s)"
for run in $(seq "$repeats"); do
    rm -rf "$work/cache" "$work/state" "$work/curl.out"
    t0=$(date +%s.%N)
    curl -s -o "$work/curl.out" "$url"
    t1=$(date +%s.%N)
    curl -s "$url" | sha256sum > /dev/null
    t2=$(date +%s.%N)
    report=$(HF_ENDPOINT="http://127.0.0.1:$hub_port" HF_HUB_CACHE="$work/cache" XDG_STATE_HOME="$work/state" \
        "$build/app/querylens" download test/big --json 2> /dev/null | tail -1)
    t3=$(date +%s.%N)
    transfer=$(python3 -c "import json, sys; r = json.loads(sys.argv[1]); print(f\"{r['bytes_fetched'] / r['seconds'] / 1e6:.0f}\")" "$report")
    echo "$run    $(rate "$t0" "$t1")          $(rate "$t1" "$t2")            $(rate "$t2" "$t3"); $transfer"
done
exec {MOCK[1]}>&-  # the mock exits at the end of its stdin
wait
