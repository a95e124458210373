#!/bin/sh
# Stops the Slurm and munge daemons that tests/slurm/start.sh started in DIR.
dir=$1
for p in slurmd slurmctld munge/munged; do
    [ -f "$dir/$p.pid" ] && kill "$(cat "$dir/$p.pid")" 2>/dev/null
done
sleep 0.5
exit 0
