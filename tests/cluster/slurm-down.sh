#!/usr/bin/env bash
# Stop the single-node SLURM test cluster started by slurm-up.sh.
#
# Only the daemons named by the pid files in the state dir are stopped
# (slurmd, slurmctld, slurmdbd, mariadbd, munged), and only if the pid still
# belongs to a process of that name; each is sent SIGTERM and waited for
# (SIGKILL after a bounded wait). Safe to run when nothing runs. The state dir
# itself (accounting DB, munge key, logs) is kept for the next slurm-up.sh.
#
# Optional environment: SLURM_STATE_DIR (default /tmp/latent-atlas-slurm),
#                       SLURM_DOWN_TIMEOUT seconds per daemon (default 60).
set -euo pipefail

STATE=${SLURM_STATE_DIR:-/tmp/latent-atlas-slurm}
TIMEOUT=${SLURM_DOWN_TIMEOUT:-60}
RUN=$STATE/run
export SLURM_CONF=$STATE/etc/slurm.conf

say() { echo "slurm-down: $*" >&2; }

if [[ ! -d $STATE ]]; then
    say "no state dir $STATE; nothing to stop"
    exit 0
fi

# pid from pid file $1 if that process is alive and named $2, else fail.
running_pid() {
    local pidfile=$1 name=$2 pid
    [[ -s $pidfile ]] || return 1
    pid=$(tr -dc '0-9' <"$pidfile")
    [[ -n $pid && -r /proc/$pid/comm ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
    echo "$pid"
}

# stop NAME PIDFILE: SIGTERM, wait up to TIMEOUT s, then SIGKILL.
stop() {
    local name=$1 pidfile=$2 pid deadline
    if ! pid=$(running_pid "$pidfile" "$name"); then
        rm -f "$pidfile"
        return 0
    fi
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + TIMEOUT))
    while [[ -e /proc/$pid ]]; do
        if ((SECONDS >= deadline)); then
            say "$name (pid $pid) ignored SIGTERM for ${TIMEOUT}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.2
    done
    rm -f "$pidfile"
}

# Cancel this cluster's jobs first, so no slurmstepd outlives slurmd.
if running_pid "$RUN/slurmctld.pid" slurmctld >/dev/null; then
    job_ids=$(squeue -h -o %i 2>/dev/null || true)
    if [[ -n $job_ids ]]; then
        say "cancelling jobs: $(echo "$job_ids" | tr '\n' ' ')"
        # shellcheck disable=SC2086 # word splitting of the job ids is intended
        scancel $job_ids 2>/dev/null || true
        for _ in $(seq 1 50); do # up to 10 s for the steps to end
            [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
            sleep 0.2
        done
    fi
fi

stop slurmd "$RUN/slurmd.pid"
stop slurmctld "$RUN/slurmctld.pid"
stop slurmdbd "$RUN/slurmdbd.pid"
stop mariadbd "$RUN/mariadbd.pid"
stop munged "$STATE/munge/munged.pid"
say "stopped"
