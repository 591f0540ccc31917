#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (localhost only, from Debian's slurm-wlm and munge,
# without systemd), the recipe of packaging/cluster/slurm run on it, and the cluster stopped.
#
#   slurm_cluster.sh SOURCE_DIR QUERYLENS WORK_DIR SHARDS INPUT [querylens batch options...]
#
# Submits packaging/cluster/slurm/submit.sh SHARDS WORK_DIR/out INPUT ..., waits until the array
# and its merge job have left the queue (polling their state; a job that can never run fails the
# test at once), then submits it again, which must find every image done. Exit codes: 0 both
# rounds completed; 1 a job failed (its logs are printed); 77 Slurm cannot run here (the reason
# is the last line on stderr). Every daemon it starts is stopped on exit, whatever happens.
set -euo pipefail

source_dir=$1
querylens=$2
work=$3
shards=$4
input=$5
shift 5

skip() {
    echo "SKIP: $*" >&2
    exit 77
}

[ "$(id -u)" -eq 0 ] || skip "starting slurmd and munged needs root"
for tool in munged mungekey slurmctld slurmd sbatch scontrol squeue; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (Debian packages slurm-wlm and munge)"
done

cluster=$work/cluster
rm -rf "$cluster"
mkdir -p "$cluster"/{munge,log,run,spool/ctld,spool/d}
chmod 700 "$cluster" "$cluster/munge"

daemons=()
guard=
stop_cluster() {
    local pid
    [ -z "$guard" ] || kill -9 "$guard" 2>/dev/null || true
    for pid in "${daemons[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${daemons[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ -S "$cluster/munge/munge.socket" ]; then
        munged --stop --socket="$cluster/munge/munge.socket" >/dev/null 2>&1 || true
    fi
}
trap stop_cluster EXIT
# Should this script itself be killed (SIGKILL: no trap runs, e.g. a test runner's timeout), a
# guard stops the daemons as soon as it notices.
script_pid=$$
(
    trap '' INT TERM
    while kill -0 "$script_pid" 2>/dev/null; do sleep 2; done
    for file in "$cluster"/run/slurmctld.pid "$cluster"/run/slurmd.pid "$cluster"/munge/munged.pid; do
        [ -f "$file" ] && kill "$(cat "$file")" 2>/dev/null
    done
    rm -rf "$cluster"
) </dev/null >/dev/null 2>&1 &
guard=$!

# A free TCP port on 127.0.0.1 (nothing answers a connection to it).
free_port() {
    local port
    while true; do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

# munge: its own key and socket, so that nothing of the machine's is used or changed.
mungekey --create --keyfile="$cluster/munge/munge.key" || skip "mungekey cannot create a key"
chmod 400 "$cluster/munge/munge.key"
munged --force --key-file="$cluster/munge/munge.key" --socket="$cluster/munge/munge.socket" \
    --pid-file="$cluster/munge/munged.pid" --log-file="$cluster/log/munged.log" \
    --seed-file="$cluster/munge/munged.seed" ||
    skip "munged does not start: $(tail -n 3 "$cluster/log/munged.log" 2>/dev/null | tr '\n' ' ')"

cpus=$(nproc)
memory=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done
export SLURM_CONF=$cluster/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=querylens-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$cluster/munge/munge.socket
StateSaveLocation=$cluster/spool/ctld
SlurmdSpoolDir=$cluster/spool/d
SlurmctldPidFile=$cluster/run/slurmctld.pid
SlurmdPidFile=$cluster/run/slurmd.pid
SlurmctldLogFile=$cluster/log/slurmctld.log
SlurmdLogFile=$cluster/log/slurmd.log
# No cgroups and no systemd: processes are tracked through /proc.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
# Listen on the configured addresses (127.0.0.1) only, not on every interface.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
MinJobAge=3600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -D -i >"$cluster/log/slurmctld.out" 2>&1 &
daemons+=($!)
slurmd -D -N localhost >"$cluster/log/slurmd.out" 2>&1 &
daemons+=($!)

# The node is up once the controller has heard from slurmd.
for _ in $(seq 60); do
    state=$(scontrol show node localhost -o 2>/dev/null | sed -n 's/.*State=\([^ ]*\).*/\1/p')
    case $state in
    IDLE* | MIXED* | ALLOCATED*) break ;;
    esac
    for pid in "${daemons[@]}"; do
        kill -0 "$pid" 2>/dev/null ||
            skip "a Slurm daemon stopped at start: $(tail -n 3 "$cluster"/log/slurm*.out "$cluster"/log/slurm*.log 2>/dev/null | tr '\n' ' ')"
    done
    sleep 1
done
case ${state:-} in
IDLE* | MIXED* | ALLOCATED*) ;;
*) skip "the Slurm node did not come up (state '${state:-none}'): $(tail -n 3 "$cluster/log/slurmd.log" 2>/dev/null | tr '\n' ' ')" ;;
esac
echo "Slurm $(slurmctld -V | awk '{print $2}') on localhost: $cpus CPUs, ports $ctld_port and $slurmd_port" >&2

# Waits until every job id given has left the queue; fails at once for a job that cannot run.
# The jobs take seconds; one still queued after $QUERYLENS_SLURM_PATIENCE seconds (default 600)
# means something is stuck, and the test fails with the logs rather than hang.
wait_for_jobs() {
    local pending line state reason deadline=$((SECONDS + ${QUERYLENS_SLURM_PATIENCE:-600}))
    while true; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "jobs $* still queued after ${QUERYLENS_SLURM_PATIENCE:-600} s:" >&2
            scontrol show job -o "$@" >&2 || true
            return 1
        fi
        pending=0
        for job in "$@"; do
            while read -r line; do
                [ -n "$line" ] || continue
                state=$(sed -n 's/.* JobState=\([^ ]*\).*/\1/p' <<<"$line")
                reason=$(sed -n 's/.* Reason=\([^ ]*\).*/\1/p' <<<"$line")
                case $state in
                PENDING)
                    case $reason in
                    None | Priority | Resources | Dependency | BeginTime | JobArrayTaskLimit) pending=1 ;;
                    *)
                        echo "job $job cannot run: $reason" >&2
                        return 1
                        ;;
                    esac
                    ;;
                RUNNING | CONFIGURING | COMPLETING | REQUEUED | RESIZING | SUSPENDED) pending=1 ;;
                esac
            done < <(scontrol show job -o "$job" 2>/dev/null)
        done
        node=$(scontrol show node localhost -o | sed -n 's/.*State=\([^ ]*\).*/\1/p')
        case $node in
        *DOWN* | *DRAIN* | *FAIL*)
            echo "the node went $node: $(scontrol show node localhost -o | sed -n 's/.*Reason=\(.*\)/\1/p')" >&2
            return 1
            ;;
        esac
        [ "$pending" -eq 1 ] || return 0
        sleep 1
    done
}

# Every job given completed with exit code 0.
all_completed() {
    local failed=0
    for job in "$@"; do
        while read -r line; do
            [ -n "$line" ] || continue
            state=$(sed -n 's/.* JobState=\([^ ]*\).*/\1/p' <<<"$line")
            code=$(sed -n 's/.* ExitCode=\([^ ]*\).*/\1/p' <<<"$line")
            id=$(sed -n 's/^JobId=\([^ ]*\).*/\1/p' <<<"$line")
            echo "  job $id: $state, exit code $code" >&2
            [ "$state" = COMPLETED ] && [ "$code" = 0:0 ] || failed=1
        done < <(scontrol show job -o "$job")
    done
    return $failed
}

show_logs() {
    for log in "$work"/out/logs/*.log "$cluster"/log/slurmd.log; do
        echo "--- $log" >&2
        tail -n 30 "$log" >&2 || true
    done
}

export QUERYLENS=$querylens
export SBATCH_OPTIONS="--partition=test --cpus-per-task=1 --mem=512M"
cd "$work"
for round in 1 2; do
    jobs=$("$source_dir/packaging/cluster/slurm/submit.sh" "$shards" "$work/out" "$input" "$@")
    read -r array merge <<<"$jobs"
    [ -n "${merge:-}" ] || { echo "submit.sh gave no job ids: '$jobs'" >&2; exit 1; }
    echo "round $round: array job $array, merge job $merge" >&2
    if ! wait_for_jobs "$array" "$merge" || ! all_completed "$array" "$merge"; then
        show_logs
        exit 1
    fi
done

# The second round found every image done: each task said so, and loaded no model.
for log in "$work"/out/logs/batch-"$array"_*.log; do
    if ! grep -q ": 0 to do" "$log"; then
        echo "the resubmitted task of $log did work again:" >&2
        show_logs
        exit 1
    fi
done
exit 0
