#!/bin/sh
# Starts a private single-node Slurm (slurmctld, slurmd and munged from
# Debian's slurm-wlm and munge) under DIR, for the integration test.
#   sh tests/slurm/start.sh DIR   -> prints "export SLURM_CONF=..." on success
#   sh tests/slurm/stop.sh DIR
# Exits 77 (skip) with a reason on stderr where Slurm cannot be started.
set -u
# The daemons are not ours to instrument: drop a sanitizer preload (make test SANITIZE=1).
unset LD_PRELOAD ASAN_OPTIONS
dir=$1
skip() { echo "slurm: $*" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
for c in slurmctld slurmd munged sbatch squeue sinfo; do
    command -v $c >/dev/null 2>&1 || skip "$c not installed (apt-get install slurm-wlm munge)"
done
mkdir -p "$dir/munge" "$dir/ctld" "$dir/d" "$dir/log" || skip "cannot create $dir"
chmod 700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" 2>"$dir/log/munged.err" || skip "munged did not start: $(cat "$dir/log/munged.err")"
host=$(hostname -s)
cpus=$(nproc)
cat >"$dir/slurm.conf" <<CONF
ClusterName=nnlabtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/d
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld 2>"$dir/log/slurmctld.err" || skip "slurmctld did not start: $(tail -3 "$dir/log/slurmctld.log" "$dir/log/slurmctld.err" 2>/dev/null)"
slurmd 2>"$dir/log/slurmd.err" || skip "slurmd did not start: $(tail -3 "$dir/log/slurmd.log" "$dir/log/slurmd.err" 2>/dev/null)"
i=0
while [ $i -lt 60 ]; do
    state=$(sinfo -h -o %T 2>/dev/null | head -1)
    case "$state" in idle*|mixed*|allocated*) echo "export SLURM_CONF=$dir/slurm.conf"; exit 0;; esac
    i=$((i + 1))
    sleep 0.5
done
skip "the node did not come up (state '$state'): $(tail -3 "$dir/log/slurmd.log" 2>/dev/null)"
