#!/usr/bin/env bash
# Start a real single-node SLURM cluster on localhost, for tests.
#
#   munged -> mariadbd -> slurmdbd -> (sacctmgr add cluster) -> slurmctld -> slurmd
#
# Runs as root, without systemd, from Debian packages (installed when missing).
# All state -- configs, pid files, logs, spool dirs, the munge key and socket,
# the MariaDB datadir -- lives under one directory:
#
#   SLURM_STATE_DIR (default /tmp/latent-atlas-slurm)
#
# Nothing under /etc/slurm, /etc/munge or /run/munge is written or used: the
# daemons and the clients find everything through SLURM_CONF, and the munge
# socket is named in slurm.conf/slurmdbd.conf (AuthInfo=socket=...).
#
# One link outside the state dir: /run/slurm/conf -> $STATE/etc. Slurm
# clients started WITHOUT SLURM_CONF look for /etc/slurm/slurm.conf, then
# /run/slurm/conf/slurm.conf (where a "configless" slurmd caches its config).
# This matters: snakemake's slurm-jobstep plugin strips every SLURM_* variable,
# SLURM_CONF included, from the environment of the `srun` it runs inside each
# job, which otherwise dies with "Could not establish a configuration source".
# (A configless slurmd cannot be used instead: it fetches its config before it
# knows our munge socket.) /etc/slurm/slurm.conf, if someone created one,
# would win over this link -- a warning is printed then. slurm-down.sh removes
# the link.
#
# Usage:   eval "$(tests/cluster/slurm-up.sh)"      # or: . "$STATE/env.sh"
# stdout:  exactly one line, `export SLURM_CONF=... SLURM_TEST_PARTITION=... SLURM_TEST_ACCOUNT=...`
#          (the partition and the account to submit with); progress goes to stderr.
# Exit:    0 ready; 77 cannot run here (not root / no apt-get to install the
#          packages) so a test can skip; anything else is a real failure.
#
# Idempotent: daemons that already run (per their pid files) are left alone;
# if the generated configs changed, the running cluster is restarted.
#
# Optional environment:
#   SLURM_STATE_DIR       state dir                     (/tmp/latent-atlas-slurm)
#   SLURM_UP_TIMEOUT      seconds to wait per phase     (60)
#   SLURMCTLD_PORT, SLURMD_PORT, SLURMDBD_PORT          (6817, 6818, 6819)
#   SLURM_TEST_ACCOUNT    the account created for the running user (atlas)
#   SLURM_MARIADB_PORT    MariaDB TCP port on 127.0.0.1 (3307, not 3306, so a
#                         system MariaDB would not clash)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Absolute and normalised: paths under it go into configs and a symlink.
STATE=$(realpath -m "${SLURM_STATE_DIR:-/tmp/latent-atlas-slurm}")
TIMEOUT=${SLURM_UP_TIMEOUT:-60}
CTLD_PORT=${SLURMCTLD_PORT:-6817}
SLURMD_PORT=${SLURMD_PORT:-6818}
DBD_PORT=${SLURMDBD_PORT:-6819}
DB_PORT=${SLURM_MARIADB_PORT:-3307}
CLUSTER=latentatlas
NODE=localhost # the node name; the real hostname differs, hence `slurmd -N`
PARTITION=debug
ACCOUNT=${SLURM_TEST_ACCOUNT:-atlas} # an account the running user may submit with

ETC=$STATE/etc
RUN=$STATE/run
LOG=$STATE/log
MUNGE=$STATE/munge # owned by the munge user: key, seed, pid, socket
DB=$STATE/mariadb
export SLURM_CONF=$ETC/slurm.conf
MUNGE_SOCKET=$MUNGE/munge.socket.2
DB_SOCKET=$DB/mariadbd.sock

PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server mariadb-client)
# One command per package above that must exist afterwards.
COMMANDS=(munged mungekey slurmctld slurmd sbatch sacct sacctmgr slurmdbd
    mariadbd mariadb-install-db mariadb mariadb-admin)

say() { echo "slurm-up: $*" >&2; }
skip() {
    echo "slurm-up: SKIP: $*" >&2
    exit 77
}
START_TS=$(date +%s.%N)

# ---------------------------------------------------------------- preflight
[[ $EUID -eq 0 ]] || skip "must run as root (it starts munged, slurmd, mariadbd)"

missing=()
for c in "${COMMANDS[@]}"; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null 2>&1 ||
        skip "apt-get not available to install the missing ${missing[*]}"
    say "installing ${PACKAGES[*]} (missing: ${missing[*]})"
    # Keep maintainer scripts from starting the system's own munge/mariadb/
    # slurm services (they would hold the default ports and /run/munge):
    # without a policy-rc.d, add a temporary deny-all one for the install.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        trap 'rm -f "$policy"' EXIT
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
    fi
    apt_install() {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends -o DPkg::Lock::Timeout=300 "${PACKAGES[@]}" >&2
    }
    shopt -s nullglob
    lists=(/var/lib/apt/lists/*_Packages*)
    shopt -u nullglob
    rc=0
    if ((${#lists[@]} == 0)); then
        apt-get update -q >&2 || rc=$?
    fi
    if ((rc == 0)) && ! apt_install; then
        say "install failed; running apt-get update and retrying"
        { apt-get update -q >&2 && apt_install; } || rc=$?
    fi
    ((rc == 0)) || {
        say "ERROR: apt-get failed (rc=$rc)"
        exit 1
    }
fi

# ---------------------------------------------------------------- helpers

# shellcheck source-path=SCRIPTDIR source=procs.sh
source "$(dirname "${BASH_SOURCE[0]}")/procs.sh"
is_running() { running_pid "$@" >/dev/null; }

dump_logs() {
    local f
    for f in "$LOG"/*.log; do
        [[ -e $f ]] || continue
        echo "----- tail -n 30 $f" >&2
        tail -n 30 "$f" >&2 || true
    done
}
fail() {
    say "ERROR: $*"
    dump_logs
    exit 1
}

# wait_for DESCRIPTION COMMAND...: retry COMMAND (quietly) until it succeeds
# or TIMEOUT seconds pass.
wait_for() {
    local what=$1 deadline=$((SECONDS + TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || fail "timed out after ${TIMEOUT}s waiting for $what"
        sleep 0.5
    done
}

# Write stdin to file $1 (mode $2) only if the content differs; sets CHANGED=1.
CHANGED=0
put() {
    local dest=$1 mode=$2 tmp
    tmp=$(mktemp "$dest.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    if [[ -f $dest ]] && cmp -s "$tmp" "$dest"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$dest"
        CHANGED=1
    fi
}

# Start a self-daemonising daemon detached from the caller: own session, no
# inherited stdio (a test capturing our output must not wait on its pipes).
# -w: return the exit status of the launcher (it exits once it has forked).
detach() { setsid -w "$@" </dev/null >/dev/null 2>&1; }

# ---------------------------------------------------------------- layout
mkdir -p "$STATE" "$ETC" "$RUN" "$LOG" "$STATE/ctld" "$STATE/spool" "$DB"
chmod 755 "$STATE"
# 755: munged wants its socket dir searchable by all (the key stays 600).
install -d -o munge -g munge -m 755 "$MUNGE"

if [[ ! -s $MUNGE/munge.key ]]; then
    mungekey --create --keyfile="$MUNGE/munge.key" >&2
fi
chown munge:munge "$MUNGE/munge.key"
chmod 600 "$MUNGE/munge.key"

# Password of the MariaDB user slurmdbd connects as; made once, kept.
if [[ ! -s $DB/slurm.pass ]]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DB/slurm.pass")
fi
DB_PASS=$(cat "$DB/slurm.pass")

# ---------------------------------------------------------------- configs
ncpu=$(nproc)
mem_total_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
real_mem=$((mem_total_kb * 9 / 10240)) # ~90% of MemTotal, in MB
# Default memory per CPU, so a job without --mem does not get the whole node.
def_mem=$((real_mem / ncpu < 1024 ? real_mem / ncpu : 1024))
# The socket/core/thread layout slurmd itself detects, so the node is not
# drained for a topology mismatch (e.g. "Boards=1 SocketsPerBoard=1 ...").
topology=$(slurmd -C | head -n 1 | grep -oE '(Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=[0-9]+' | tr '\n' ' ')

put "$ETC/slurm.conf" 644 <<EOF
# Generated by tests/cluster/slurm-up.sh -- single-node test cluster.
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$ETC/plugstack.conf
MailProg=/bin/true
# No cgroups in this container: track processes by parent pid, no binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$def_mem
# Keep finished jobs visible to squeue/scontrol for 5 min (as on most clusters).
MinJobAge=300
# A node that was down (e.g. slurmd restarted) becomes usable on registration.
ReturnToService=2
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# Connections to slurmdbd take their munge socket from here, not AuthInfo.
AccountingStoragePass=$MUNGE_SOCKET
# sacct shows each job's --comment, where Snakemake's plugin writes the rule (or group) name.
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
NodeName=$NODE NodeHostname=localhost CPUs=$ncpu ${topology}RealMemory=$real_mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
# Empty: keep slurm from reading /etc/slurm/plugstack.conf(.d).
put "$ETC/plugstack.conf" 644 </dev/null

# slurmdbd refuses a slurmdbd.conf that is not mode 600 owned by SlurmUser.
put "$ETC/slurmdbd.conf" 600 <<EOF
# Generated by tests/cluster/slurm-up.sh
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
chown root:root "$ETC/slurmdbd.conf"

put "$STATE/env.sh" 644 <<<"export SLURM_CONF=$SLURM_CONF"

# Let clients without SLURM_CONF find the config (see the header).
RUN_CONF=/run/slurm/conf
if [[ -e /etc/slurm/slurm.conf ]]; then
    say "WARNING: /etc/slurm/slurm.conf exists; Slurm commands without SLURM_CONF" \
        "(e.g. the srun inside snakemake jobs) will use it, not $SLURM_CONF"
fi
if [[ -L $RUN_CONF && $(readlink "$RUN_CONF") == "$ETC" ]]; then
    : # ours already
elif [[ -L $RUN_CONF ]] && { [[ ! -e $RUN_CONF/slurm.conf ]] ||
    grep -q '^# Generated by tests/cluster/slurm-up.sh' "$RUN_CONF/slurm.conf"; }; then
    ln -sfn "$ETC" "$RUN_CONF" # dangling, or left by a run with another state dir
elif [[ -e $RUN_CONF || -L $RUN_CONF ]]; then
    say "WARNING: $RUN_CONF exists and is not ours; Slurm commands without" \
        "SLURM_CONF (e.g. the srun inside snakemake jobs) will not find this cluster"
else
    mkdir -p "$(dirname "$RUN_CONF")"
    ln -s "$ETC" "$RUN_CONF"
fi

# A config change under running daemons: restart the whole cluster.
if ((CHANGED)) && { is_running "$RUN/slurmctld.pid" slurmctld ||
    is_running "$RUN/slurmd.pid" slurmd || is_running "$RUN/slurmdbd.pid" slurmdbd; }; then
    say "configuration changed; restarting the running cluster"
    SLURM_STATE_DIR=$STATE "$HERE/slurm-down.sh" >&2
fi

# ---------------------------------------------------------------- munged
if ! is_running "$MUNGE/munged.pid" munged; then
    say "starting munged"
    rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
    # munged opens its log as the munge user.
    touch "$LOG/munged.log"
    chown munge:munge "$LOG/munged.log"
    # munged refuses to run as root; the munge user owns $MUNGE.
    detach runuser -u munge -- munged \
        --socket="$MUNGE_SOCKET" --key-file="$MUNGE/munge.key" \
        --pid-file="$MUNGE/munged.pid" --seed-file="$MUNGE/munged.seed" \
        --log-file="$LOG/munged.log" ||
        fail "munged did not start"
fi
wait_for "munged" bash -c "munge -n -S '$MUNGE_SOCKET' | unmunge -S '$MUNGE_SOCKET'"

# ---------------------------------------------------------------- mariadbd
if [[ ! -d $DB/data/mysql ]]; then
    say "initialising MariaDB datadir"
    rm -rf "$DB/data"
    mariadb-install-db --no-defaults --user=root --datadir="$DB/data" \
        --auth-root-authentication-method=socket --skip-test-db \
        >"$LOG/mariadb-install.log" 2>&1 || fail "mariadb-install-db failed"
fi
if ! is_running "$RUN/mariadbd.pid" mariadbd; then
    say "starting mariadbd on 127.0.0.1:$DB_PORT"
    # --no-defaults: ignore /etc/mysql (its socket/datadir are the system's).
    # mariadbd does not daemonise itself: run it in the background, in its own
    # session, with no inherited stdio (setsid just execs it here).
    setsid mariadbd --no-defaults --user=root --datadir="$DB/data" \
        --socket="$DB_SOCKET" --pid-file="$RUN/mariadbd.pid" \
        --log-error="$LOG/mariadbd.log" --bind-address=127.0.0.1 \
        --port="$DB_PORT" --skip-name-resolve --innodb-buffer-pool-size=128M \
        --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
fi
wait_for "mariadbd" mariadb-admin --no-defaults --socket="$DB_SOCKET" -u root ping
mariadb --no-defaults --socket="$DB_SOCKET" -u root <<EOF || fail "creating the slurm database/user failed"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF

# ---------------------------------------------------------------- slurmdbd
if ! is_running "$RUN/slurmdbd.pid" slurmdbd; then
    say "starting slurmdbd"
    # slurmdbd reads slurmdbd.conf from the directory of $SLURM_CONF.
    detach slurmdbd || fail "slurmdbd did not start"
fi
wait_for "slurmdbd" sacctmgr -n show cluster
if [[ -z $(sacctmgr -n -P show cluster format=cluster where cluster="$CLUSTER") ]]; then
    say "registering cluster $CLUSTER"
    sacctmgr -i add cluster "$CLUSTER" >&2 || fail "sacctmgr add cluster failed"
fi
# An account with the running user in it, so a command naming `slurm_account=` is tested as
# users run it (the executor plugin checks the account with sacctmgr before submitting).
if [[ -z $(sacctmgr -n -P show account format=account where name="$ACCOUNT") ]]; then
    say "adding account $ACCOUNT"
    sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" >&2 || fail "sacctmgr add account failed"
fi
if [[ -z $(sacctmgr -n -P show assoc format=user where user="$(id -un)" account="$ACCOUNT") ]]; then
    sacctmgr -i add user "$(id -un)" account="$ACCOUNT" cluster="$CLUSTER" >&2 ||
        fail "sacctmgr add user $(id -un) to account $ACCOUNT failed"
fi

# ---------------------------------------------------------------- slurmctld
if ! is_running "$RUN/slurmctld.pid" slurmctld; then
    say "starting slurmctld"
    detach slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
fi
wait_for "slurmctld" scontrol ping

# ---------------------------------------------------------------- slurmd
if ! is_running "$RUN/slurmd.pid" slurmd; then
    say "starting slurmd"
    detach slurmd -N "$NODE" -f "$SLURM_CONF" || fail "slurmd did not start"
fi

# ---------------------------------------------------------------- ready?
node_state() { sinfo -h -n "$NODE" -o %t 2>/dev/null | head -n 1; }
resumed=0
deadline=$((SECONDS + TIMEOUT))
while :; do
    state=$(node_state)
    [[ $state == idle || $state == mix || $state == alloc ]] && break
    # A node left down/drained by an earlier run: resume it once.
    if ((!resumed)) && [[ $state =~ ^(down|drain|drng) ]]; then
        scontrol update nodename="$NODE" state=resume >&2 || true
        resumed=1
    fi
    ((SECONDS < deadline)) ||
        fail "node $NODE not idle after ${TIMEOUT}s (state: '${state:-none}')"
    sleep 0.5
done
[[ -n $(sacctmgr -n -P show cluster format=cluster where cluster="$CLUSTER") ]] ||
    fail "cluster $CLUSTER not listed by sacctmgr"

say "cluster $CLUSTER ready (node $NODE: $state) in $(awk -v s="$START_TS" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')s; state in $STATE"
echo "export SLURM_CONF=$SLURM_CONF SLURM_TEST_PARTITION=$PARTITION SLURM_TEST_ACCOUNT=$ACCOUNT"
