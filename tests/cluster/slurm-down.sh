#!/usr/bin/env bash
# Stop the single-node SLURM test cluster started by slurm-up.sh.
#
# Only the daemons named by the pid files in the state dir are stopped
# (slurmd, slurmctld, slurmdbd, mariadbd, munged), and only if the pid still
# belongs to a process of that name; each is sent SIGTERM and waited for
# (SIGKILL after a bounded wait). Safe to run when nothing runs. The state dir
# itself (accounting DB, munge key, logs) is kept for the next slurm-up.sh;
# the /run/slurm/conf link slurm-up.sh made (see there) is removed if ours.
#
# Optional environment: SLURM_STATE_DIR (default /tmp/latent-atlas-slurm),
#                       SLURM_DOWN_TIMEOUT seconds per daemon (default 60).
set -euo pipefail

# Absolute and normalised: paths under it go into configs and a symlink.
STATE=$(realpath -m "${SLURM_STATE_DIR:-/tmp/latent-atlas-slurm}")
TIMEOUT=${SLURM_DOWN_TIMEOUT:-60}
RUN=$STATE/run
export SLURM_CONF=$STATE/etc/slurm.conf

say() { echo "slurm-down: $*" >&2; }

if [[ ! -d $STATE ]]; then
    say "no state dir $STATE; nothing to stop"
    exit 0
fi

# shellcheck source-path=SCRIPTDIR source=procs.sh
source "$(dirname "${BASH_SOURCE[0]}")/procs.sh"

# stop NAME:PIDFILE...: SIGTERM each named daemon that runs, then wait for
# them all (SIGKILL whatever is left after TIMEOUT s). Daemons given together
# stop in parallel; the waves below keep slurmdbd up while slurmctld flushes
# its last accounting records, and MariaDB up while slurmdbd shuts down.
stop() {
    local spec name pidfile pid deadline i
    local -a pids=() names=()
    for spec in "$@"; do
        name=${spec%%:*} pidfile=${spec#*:}
        if pid=$(running_pid "$pidfile" "$name"); then
            say "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid") names+=("$name")
            STOPPED+=("$pid")
        fi
    done
    deadline=$((SECONDS + TIMEOUT))
    for i in "${!pids[@]}"; do
        while alive "${pids[i]}"; do
            if ((SECONDS >= deadline)); then
                say "${names[i]} (pid ${pids[i]}) ignored SIGTERM for ${TIMEOUT}s; killing it"
                kill -KILL "${pids[i]}" 2>/dev/null || true
                sleep 0.5
                break
            fi
            sleep 0.1
        done
    done
    for spec in "$@"; do rm -f "${spec#*:}"; done
}

STOPPED=()

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

stop "slurmd:$RUN/slurmd.pid" "slurmctld:$RUN/slurmctld.pid"
stop "slurmdbd:$RUN/slurmdbd.pid"
stop "mariadbd:$RUN/mariadbd.pid" "munged:$STATE/munge/munged.pid"

# The daemons were re-parented to pid 1, which reaps them only every second
# or two; wait (bounded) until they are gone from the process table, so that
# a `pgrep` right after this script finds no <defunct> leftovers.
for pid in "${STOPPED[@]}"; do
    for _ in $(seq 1 50); do
        [[ -e /proc/$pid ]] || break
        sleep 0.2
    done
done
# The link slurm-up.sh made for clients without SLURM_CONF, if it is ours.
if [[ -L /run/slurm/conf && $(readlink /run/slurm/conf) == "$STATE/etc" ]]; then
    rm -f /run/slurm/conf
    rmdir /run/slurm 2>/dev/null || true
fi
say "stopped"
