# shellcheck shell=bash
# Process helpers shared by slurm-up.sh and slurm-down.sh (sourced, not run).

# Process $1 exists and is not a zombie (pid 1 here may be slow to reap).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) } # drop "pid (comm) ", comm may contain spaces
    [[ ${stat%% *} != Z ]]
}

# pid from pid file $1 if that process is alive and named $2, else fail.
running_pid() {
    local pidfile=$1 name=$2 pid
    [[ -s $pidfile ]] || return 1
    pid=$(tr -dc '0-9' <"$pidfile")
    [[ -n $pid ]] && alive "$pid" || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
    echo "$pid"
}
