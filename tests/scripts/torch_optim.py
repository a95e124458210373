"""Steps torch.optim's Adam, AdamW and RMSprop on the parameters and
gradients tests/lua/optim_spec.lua gives nnlab, and prints each step's
parameters, for the spec to compare.

Input (stdin), one run a line: NAME KIND STEPS key=value ..., KIND one of
Adam, AdamW, RMSprop; keys lr, beta1, beta2, eps, weight_decay, alpha,
momentum, centered (0/1), decay_bias (0/1: the biases are decayed too),
schedule (step:SIZE:GAMMA, exponential:GAMMA, cosine:T_MAX:MIN_LR; the
rate of step t is the schedule's for epoch t - 1).
Output: NAME<TAB>STEP<TAB>the 8 parameters as float32 values in %.9g.
The parameters are a Linear(3, 2)'s: 6 weights, then 2 biases."""
import math
import sys

import torch

START = [0.5, -0.25, 1.5, -2, 0.75, 0.1, 0.3, -0.4]
NWEIGHTS = 6


def grad(t, i):
    """The spec's gradient of parameter i (1-based) at step t."""
    return math.sin(1.7 * i + 0.9 * t) + (0.3 if i % 2 == 0 else -0.2)


def rate(schedule, lr, epoch):
    if schedule is None:
        return lr
    kind, *args = schedule.split(":")
    if kind == "step":
        return lr * float(args[1]) ** (epoch // int(args[0]))
    if kind == "exponential":
        return lr * float(args[0]) ** epoch
    t_max, min_lr = int(args[0]), float(args[1])
    e = min(epoch, t_max)
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * e / t_max)) / 2


def run(name, kind, steps, opts):
    torch.set_num_threads(1)
    w = torch.tensor(START[:NWEIGHTS], dtype=torch.float32, requires_grad=True)
    b = torch.tensor(START[NWEIGHTS:], dtype=torch.float32, requires_grad=True)
    lr = float(opts.get("lr", 1e-3))
    wd = float(opts.get("weight_decay", 0))
    groups = [{"params": [w], "weight_decay": wd},
              {"params": [b], "weight_decay": wd if opts.get("decay_bias") == "1" else 0.0}]
    if kind in ("Adam", "AdamW"):
        cls = torch.optim.Adam if kind == "Adam" else torch.optim.AdamW
        opt = cls(groups, lr=lr, betas=(float(opts.get("beta1", 0.9)), float(opts.get("beta2", 0.999))),
                  eps=float(opts.get("eps", 1e-8)), foreach=False)
    else:
        opt = torch.optim.RMSprop(groups, lr=lr, alpha=float(opts.get("alpha", 0.99)),
                                  eps=float(opts.get("eps", 1e-8)), momentum=float(opts.get("momentum", 0)),
                                  centered=opts.get("centered") == "1", foreach=False)
    for t in range(1, steps + 1):
        for g in opt.param_groups:
            g["lr"] = rate(opts.get("schedule"), lr, t - 1)
        w.grad = torch.tensor([grad(t, i) for i in range(1, NWEIGHTS + 1)], dtype=torch.float32)
        b.grad = torch.tensor([grad(t, i) for i in range(NWEIGHTS + 1, 9)], dtype=torch.float32)
        opt.step()
        values = w.detach().tolist() + b.detach().tolist()
        print("\t".join([name, str(t)] + ["%.9g" % v for v in values]))


def main():
    for line in sys.stdin:
        fields = line.split()
        if not fields:
            continue
        name, kind, steps = fields[0], fields[1], int(fields[2])
        opts = dict(f.split("=", 1) for f in fields[3:])
        run(name, kind, steps, opts)


if __name__ == "__main__":
    main()
