#!/bin/sh
# make bench: the seeds' workloads through nnlab's Lua API and, in the same
# run, through PyTorch (Debian's python3-torch, CPU, its best thread count)
# when it is installed; a table of medians and ratios.
#   sh bench/run.sh [repeats]
top=$(cd "$(dirname "$0")/.." && pwd)
repeats=${1:-3}
nnlab="$top/build/nnlab"
py=/usr/bin/python3
have_torch=0
$py -c "import torch" 2>/dev/null && have_torch=1

field() { # field LINE KEY
    printf '%s\n' "$1" | tr '\t' '\n' | sed -n "s/^$2=//p"
}

best_torch() { # best_torch WORKLOAD: the run with the lowest time over 1 and 2 threads
    best=""
    for t in 1 2; do
        line=$($py "$top/bench/torch_workloads.py" "$1" "$repeats" "$t") || continue
        s=$(field "$line" seconds_per_iteration)$(field "$line" seconds_per_epoch)
        if [ -z "$best" ] || awk "BEGIN{exit !($s < $bs)}"; then best=$(printf '%s\tthreads=%s' "$line" "$t"); bs=$s; fi
    done
    printf '%s\n' "$best"
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
"$nnlab" --version
echo "repeats: $repeats (medians)"
printf '\n%-4s %-28s %12s %12s %8s  %s\n' work measure nnlab pytorch ratio goal
for w in B1 B2 B3; do
    n=$("$nnlab" "$top/bench/workloads.lua" $w "$repeats")
    t=""
    [ $have_torch -eq 1 ] && t=$(best_torch $w)
    key=seconds_per_epoch
    [ $w = B1 ] && key=seconds_per_iteration
    goal=$(case $w in B1) echo ">= 10x";; B2) echo ">= 5x";; B3) echo ">= 6x";; esac)
    nv=$(field "$n" $key)
    tv=$(field "$t" $key)
    ratio=""
    [ -n "$tv" ] && ratio=$(awk "BEGIN{printf \"%.2fx\", $tv / $nv}")
    printf '%-4s %-28s %12.4g %12s %8s  %s\n' $w "$key" "$nv" "${tv:--}" "${ratio:--}" "$goal"
    for k in test_accuracy peak_rss_mb; do
        a=$(field "$n" $k)
        [ -n "$a" ] && printf '%-4s %-28s %12.4g %12s\n' $w $k "$a" "$(field "$t" $k)"
    done
    [ -n "$t" ] && printf '%-4s %-28s %12s %12s\n' $w "pytorch threads" "" "$(field "$t" threads)"
done
n=$("$nnlab" "$top/bench/workloads.lua" B4 "$repeats")
printf '%-4s %-28s %12.4g %12s %8s  %s\n' B4 "numgrad seconds" "$(field "$n" seconds)" "88 (seed)" \
    "$(awk "BEGIN{printf \"%.0fx\", 88 / $(field "$n" seconds)}")" ">= 1000x (< 0.09 s)"
printf '%-4s %-28s %12.3g %12s %8s  %s\n' B4 "relative error" "$(field "$n" rel_error)" "" "" "< 1e-4"
[ $have_torch -eq 1 ] || echo "(PyTorch not installed: apt-get install python3-torch for the comparison)"
