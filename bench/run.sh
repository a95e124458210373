#!/bin/sh
# make bench: the seeds' workloads through nnlab's Lua API and, in the same
# run, through PyTorch (Debian's python3-torch, CPU, its best thread count,
# the same OpenBLAS kernel as nnlab) when it is installed; a table of
# medians and ratios, and whether each goal is met. The two sides' runs take
# turns, since these machines have slow and fast spells of many seconds.
# B5 is LeNet-5 (batch 64) and B6 Keras's MNIST CNN (batch 128), one epoch
# each with SGD and momentum: goals 3x and 2.5x PyTorch's speed; B6 also
# shows its share of the sgemm rate and its peak memory.
#   sh bench/run.sh [repeats]
# NNLAB_BENCH_ITEMS=N limits the epochs of B2, B3, B5 and B6 to the first N
# training images on both sides: a quick check that the rows run, not figures.
# NNLAB_BENCH_ROWS="B1 B6" runs those rows only (B1-B7; "busy" is B2 beside
# a busy core), for a comparison of a change; make bench runs them all.
top=$(cd "$(dirname "$0")/.." && pwd)
repeats=${1:-3}
rows=" ${NNLAB_BENCH_ROWS:-B1 B2 B3 B4 B5 B6 B7 busy} "
wanted() { # wanted ROW: whether ROW is among NNLAB_BENCH_ROWS
    case $rows in *" $1 "*) return 0 ;; esac
    return 1
}
nnlab="$top/build/nnlab"
peak="$top/build/bench/sgemm_peak"
py=/usr/bin/python3
have_torch=0
$py -c "import torch" 2>/dev/null && have_torch=1

field() { # field LINE KEY
    printf '%s\n' "$1" | tr '\t' '\n' | sed -n "s/^$2=//p"
}

# nnlab picks OpenBLAS's kernel for the CPU (src/main.c); PyTorch and the
# sgemm yardstick get the same one.
version=$("$nnlab" --version)
kernel=$(printf '%s\n' "$version" | sed -n 's/.*kernel \([A-Za-z0-9]*\);.*/\1/p')
threads=$(printf '%s\n' "$version" | sed -n 's/.*; \([0-9]*\) threads*$/\1/p')

with_field() { # with_field LINE KEY VALUE: LINE with KEY's value replaced (or added)
    printf '%s\n' "$1" | tr '\t' '\n' | grep -v "^$2=" | tr '\n' '\t'
    printf '%s=%s\n' "$2" "$3"
}

median() { # median of the numbers on stdin
    sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'
}

sgemm_gflops() {
    field "$(OPENBLAS_CORETYPE=$kernel "$peak" 2048 "$threads")" gflops
}

# run_interleaved WORKLOAD KEY: the repeats of nnlab and of PyTorch on 1 and
# 2 threads take turns (nnlab, torch 1, torch 2, nnlab, ...), so that the
# machine's slow and fast spells fall on both sides; B3's and B6's turns
# measure the sgemm yardstick too. Sets n and t (the last line of each, its
# time field replaced by the median, t with the better thread count) and
# gflops (the yardstick's median, B3 and B6).
run_interleaved() {
    n="" t="" ns="" t1s="" t2s="" gs="" l1="" l2=""
    for r in $(seq "$repeats"); do
        case $1 in B3|B6) gs="$gs $(sgemm_gflops)" ;; esac
        n=$("$nnlab" "$top/bench/workloads.lua" "$1" 1)
        ns="$ns $(field "$n" "$2")"
        [ $have_torch -eq 1 ] || continue
        if l=$(OPENBLAS_CORETYPE=$kernel $py "$top/bench/torch_workloads.py" "$1" 1 1); then
            l1=$l t1s="$t1s $(field "$l" "$2")"
        fi
        if l=$(OPENBLAS_CORETYPE=$kernel $py "$top/bench/torch_workloads.py" "$1" 1 2); then
            l2=$l t2s="$t2s $(field "$l" "$2")"
        fi
    done
    nm=$(echo $ns | tr ' ' '\n' | median)
    n=$(with_field "$n" "$2" "$nm")
    [ -n "$gs" ] && gflops=$(echo $gs | tr ' ' '\n' | median)
    m1=$(echo $t1s | tr ' ' '\n' | median) m2=$(echo $t2s | tr ' ' '\n' | median)
    if [ -n "$m1" ] && { [ -z "$m2" ] || awk "BEGIN{exit !($m1 <= $m2)}"; }; then
        t=$(with_field "$(with_field "$l1" "$2" "$m1")" threads 1)
    elif [ -n "$m2" ]; then
        t=$(with_field "$(with_field "$l2" "$2" "$m2")" threads 2)
    fi
}

met() { # met CONDITION: "met" or "NOT met"
    if awk "BEGIN{exit !($1)}"; then echo met; else echo "NOT met"; fi
}

sgemm_share() { # sgemm_share FLOPS SECONDS: their rate over the yardstick's, $gflops
    awk "BEGIN{printf \"%.3f\", $1 / ($2 * 1e9) / $gflops}"
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
printf '%s\n' "$version"
echo "OpenBLAS sgemm 2048^3 on $threads threads ($kernel): $(sgemm_gflops) GFLOPS"
echo "repeats: $repeats (medians; nnlab's and PyTorch's runs take turns)"
printf '\n%-4s %-24s %11s %11s %8s  %-30s %s\n' work measure nnlab pytorch ratio goal ""
for w in B1 B2 B3 B5 B6; do
    wanted $w || continue
    key=seconds_per_epoch
    [ $w = B1 ] && key=seconds_per_iteration
    run_interleaved $w $key
    nv=$(field "$n" $key)
    tv=$(field "$t" $key)
    ratio="" verdict=""
    [ -n "$tv" ] && ratio=$(awk "BEGIN{printf \"%.2f\", $tv / $nv}")
    case $w in
        B1) goal=">= 10x"; [ -n "$ratio" ] && verdict=$(met "$ratio >= 10") ;;
        B2) goal=">= 5x"; [ -n "$ratio" ] && verdict=$(met "$ratio >= 5") ;;
        B3) # 784-512-256-10: 2 * 60000 * (2 * 535040 + 133632) FLOPs an epoch (dense count)
            bound=$(awk "BEGIN{printf \"%.3f\", 1.2 * 2 * 60000 * (2 * 535040 + 133632) / ($gflops * 1e9)}")
            goal=">= 6x or <= $bound s (1.2x sgemm)"
            verdict=$(met "${ratio:-0} >= 6 || $nv <= $bound") ;;
        B5) goal=">= 3x"; [ -n "$ratio" ] && verdict=$(met "$ratio >= 3") ;;
        B6) goal=">= 2.5x"; [ -n "$ratio" ] && verdict=$(met "$ratio >= 2.5") ;;
    esac
    printf '%-4s %-24s %11.4g %11s %8s  %-30s %s\n' $w "$key" "$nv" "${tv:--}" "${ratio:+${ratio}x}" "$goal" "$verdict"
    for k in test_accuracy peak_rss_mb; do
        a=$(field "$n" $k)
        [ -z "$a" ] && continue
        b=$(field "$t" $k)
        g="" v=""
        if [ $k = peak_rss_mb ]; then
            lim=120
            [ $w = B6 ] && lim=300 # a batch's im2col and activations beside the 47 MB of images
            g="<= $lim MB"; v=$(met "$a <= $lim")
        elif [ -n "$b" ]; then
            # one seed a side: one epoch of a CNN varies by about 0.6 point between seeds
            pts=0.5
            case $w in B5 | B6) pts=1 ;; esac
            g="within $pts point"; v=$(met "$a >= $b - $pts / 100")
        fi
        printf '%-4s %-24s %11.4g %11s %8s  %-30s %s\n' $w $k "$a" "${b:--}" "" "$g" "$v"
    done
    if [ $w = B6 ]; then
        # multiply-adds a sample: conv 1->32 3x3 on 26x26, conv 32->64 3x3 on
        # 24x24, 9216->128, 128->10; forward and the two backward products of
        # each, less the first conv's input gradient
        flops=$(awk "BEGIN{c1 = 26 * 26 * 32 * 9
            printf \"%.0f\", 2 * $(field "$n" items) * (3 * (c1 + 24 * 24 * 64 * 32 * 9 + 9216 * 128 + 128 * 10) - c1)}")
        ts=""
        [ -n "$tv" ] && ts=$(sgemm_share "$flops" "$tv")
        printf '%-4s %-24s %11s %11s %8s  %-30s\n' $w "fraction of sgemm" "$(sgemm_share "$flops" "$nv")" \
            "${ts:--}" "" "(sgemm $gflops GFLOPS)"
    fi
    [ -n "$t" ] && printf '%-4s %-24s %11s %11s\n' $w "pytorch threads" "" "$(field "$t" threads)"
done
# B7: what users run, seed 000's grid end to end, once a side (it takes minutes).
if wanted B7; then
    n=$("$nnlab" "$top/bench/workloads.lua" B7 1)
    nv=$(field "$n" seconds) tv="" ratio="" verdict=""
    if [ $have_torch -eq 1 ]; then
        t1=$(field "$(OPENBLAS_CORETYPE=$kernel $py "$top/bench/torch_workloads.py" B7 1 1)" seconds)
        t2=$(field "$(OPENBLAS_CORETYPE=$kernel $py "$top/bench/torch_workloads.py" B7 1 2)" seconds)
        tv=$(printf '%s\n%s\n' "$t1" "$t2" | sort -g | head -1)
        ratio=$(awk "BEGIN{printf \"%.2f\", $tv / $nv}")
        verdict=$(met "$ratio >= 8")
    fi
    printf '%-4s %-24s %11.4g %11s %8s  %-30s %s\n' B7 "grid seconds" "$nv" "${tv:--}" "${ratio:+${ratio}x}" \
        ">= 8x" "$verdict"
fi
# B2 beside a busy loop pinned to one core, against B2 alone on one thread.
if wanted busy; then
    alone=$(field "$(NNLAB_THREADS=1 "$nnlab" "$top/bench/workloads.lua" B2 "$repeats")" seconds_per_epoch)
    taskset -c 0 sh -c 'while :; do :; done' & spinner=$!
    loaded=$(field "$("$nnlab" "$top/bench/workloads.lua" B2 "$repeats")" seconds_per_epoch)
    kill $spinner 2>/dev/null
    printf '%-4s %-24s %11.4g %11.4g %8s  %-30s %s\n' B2 "busy core / 1 idle thread" "$loaded" "$alone" \
        "$(awk "BEGIN{printf \"%.2fx\", $loaded / $alone}")" "<= 2x" "$(met "$loaded <= 2 * $alone")"
fi
if wanted B4; then
    n=$("$nnlab" "$top/bench/workloads.lua" B4 "$repeats")
    s=$(field "$n" seconds)
    printf '%-4s %-24s %11.4g %11s %8s  %-30s %s\n' B4 "numgrad seconds" "$s" "88 (seed)" \
        "$(awk "BEGIN{printf \"%.0fx\", 88 / $s}")" ">= 1000x (< 0.088 s)" "$(met "$s < 0.088")"
    e=$(field "$n" rel_error)
    printf '%-4s %-24s %11.3g %11s %8s  %-30s %s\n' B4 "relative error" "$e" "" "" "< 1e-4" "$(met "$e < 1e-4")"
fi
[ $have_torch -eq 1 ] || echo "(PyTorch not installed: apt-get install python3-torch for the comparison)"
