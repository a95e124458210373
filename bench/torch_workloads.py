"""The benchmark workloads in PyTorch (CPU), for the side-by-side table.

    python3 bench/torch_workloads.py B1|B2|B3|B5|B6|B7 [repeats] [threads]

Prints "name<TAB>key=value..." with the median time of the repeats, like
bench/workloads.lua. The data are the same vendored MNIST files.
NNLAB_BENCH_ITEMS=N limits the timed epochs of B2, B3, B5 and B6 to the
first N training images, for a quick check that they run (not a figure).
"""
import gzip
import os
import resource
import struct
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ITEMS = int(os.environ.get("NNLAB_BENCH_ITEMS") or 0)


def read_idx(name):
    with gzip.open(os.path.join(ROOT, "data", "mnist", name + ".gz"), "rb") as f:
        data = f.read()
    ndims = data[3]
    dims = struct.unpack(">" + "I" * ndims, data[4:4 + 4 * ndims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndims).reshape(dims)


def mnist(scale):
    def images(name):
        x = read_idx(name).reshape(-1, 784).astype(np.float32) * scale
        return torch.from_numpy(x)

    def labels(name):
        return torch.from_numpy(read_idx(name).astype(np.int64))

    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def b1(repeats):
    x, y, _, _ = mnist(1 / 255)
    x, y = x[:30000].contiguous(), y[:30000].contiguous()
    times = []
    for _ in range(repeats):
        w = torch.zeros(784, 10, requires_grad=True)
        per = []
        for it in range(20):
            t0 = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(x @ w, y)
            loss.backward()
            with torch.no_grad():
                w -= 0.3 * w.grad
                w.grad.zero_()
            if it >= 2:
                per.append(time.perf_counter() - t0)
        times.append(sum(per) / len(per))
    return {"seconds_per_iteration": float(np.median(times))}


def epoch(model, loss_fn, x, y, batch, lr, momentum=0):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    perm = torch.randperm(x.shape[0])
    t0 = time.perf_counter()
    for first in range(0, x.shape[0], batch):
        idx = perm[first:first + batch]
        xb, yb = x[idx], y[idx]
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def accuracy(model, x, y, batch=None):
    model.eval()
    with torch.no_grad():
        batch = batch or x.shape[0]
        right = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, x.shape[0], batch))
        return right / x.shape[0]


def limited(x, y, batch):
    """The first NNLAB_BENCH_ITEMS training items (at least a batch), all without it."""
    if 0 < ITEMS < x.shape[0]:
        n = max(ITEMS, batch)
        return x[:n], y[:n]
    return x, y


def mlp_epochs(repeats, sizes, init_weight, loss_fn, data, batch, lr):
    """Median time of one epoch of a fresh ReLU MLP over `repeats` seeds, and
    the first one's test accuracy."""
    x, y, tx, ty = data
    # A few batches first, as bench/workloads.lua does, so that neither
    # side's one-time start falls in the timed epoch.
    epoch(torch.nn.Sequential(*[torch.nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]), loss_fn, x[:10 * batch],
          y[:10 * batch], batch, lr)
    x, y = limited(x, y, batch)
    times, acc = [], None
    for r in range(repeats):
        torch.manual_seed(r)
        linears = [torch.nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes, sizes[1:])]
        for linear in linears:
            init_weight(linear.weight)
            torch.nn.init.zeros_(linear.bias)
        layers = [m for linear in linears for m in (linear, torch.nn.ReLU())][:-1]
        model = torch.nn.Sequential(*layers)
        times.append(epoch(model, loss_fn, x, y, batch, lr))
        acc = acc if acc is not None else accuracy(model, tx, ty)
    return float(np.median(times)), acc


def b2(repeats):
    t, acc = mlp_epochs(repeats, [784, 32, 16, 10], lambda w: torch.nn.init.normal_(w, 0, 0.01),
                        torch.nn.functional.cross_entropy, mnist(1.0), 90, 0.01)
    return {"seconds_per_epoch": t, "test_accuracy": acc}


def b3(repeats):
    def sse(out, labels):
        onehot = torch.nn.functional.one_hot(labels, 10).float()
        return ((out - onehot) ** 2).sum() / out.shape[0]

    t, acc = mlp_epochs(repeats, [784, 512, 256, 10], torch.nn.init.xavier_uniform_, sse, mnist(1 / 255), 200,
                        0.001)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds_per_epoch": t, "test_accuracy": acc, "peak_rss_mb": rss}


def cnn_epochs(repeats, build, batch, eval_batch=1000):
    """Median time of one epoch of a fresh CNN with SGD lr 0.01 momentum 0.9
    and cross-entropy over `repeats` seeds, the first one's test accuracy
    (evaluated in batches of eval_batch) and the number of training items.
    Weights keep PyTorch's default, U(+-1/sqrt(fan_in)) as nnlab's default;
    biases start at 0 as nnlab's do."""
    x, y, tx, ty = mnist(1 / 255)
    x, tx = x.view(-1, 1, 28, 28), tx.view(-1, 1, 28, 28)
    loss_fn = torch.nn.functional.cross_entropy
    epoch(build(), loss_fn, x[:10 * batch], y[:10 * batch], batch, 0.01, 0.9)
    x, y = limited(x, y, batch)
    times, acc = [], None
    for r in range(repeats):
        torch.manual_seed(r)
        model = build()
        for layer in model:
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
                torch.nn.init.zeros_(layer.bias)
        times.append(epoch(model, loss_fn, x, y, batch, 0.01, 0.9))
        acc = acc if acc is not None else accuracy(model, tx, ty, eval_batch)
    return float(np.median(times)), acc, x.shape[0]


def b5(repeats):
    """LeNet-5 with ReLU and max-pooling, batch 64."""
    nn = torch.nn
    t, acc, n = cnn_epochs(repeats, lambda: nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)), 64)
    return {"seconds_per_epoch": t, "test_accuracy": acc, "items": n}


def b6(repeats):
    """Keras's MNIST CNN example (mnist_cnn.py), batch 128; the peak memory
    includes the test set's evaluation in batches of 128."""
    nn = torch.nn
    t, acc, n = cnn_epochs(repeats, lambda: nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(64 * 12 * 12, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10)), 128, 128)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds_per_epoch": t, "test_accuracy": acc, "peak_rss_mb": rss, "items": n}


def b7(repeats):
    """Seed 000's grid as nnlab's B7 runs it: for c in {0, 5} x lr in {0.3, 0.5},
    softmax regression from zeros, 1000 full-batch iterations on 30000 images
    with the L2 term in the cost, the 15000 validation images evaluated (loss
    and accuracy) after every iteration, the test set at the end."""
    x, y, tx, ty = mnist(1 / 255)
    perm = torch.from_numpy(np.random.default_rng(1).permutation(60000))
    train, val = perm[:30000], perm[30000:45000]
    xt, yt, xv, yv = x[train].contiguous(), y[train].contiguous(), x[val].contiguous(), y[val].contiguous()
    t0 = time.perf_counter()
    for c in (0.0, 5.0):
        for lr in (0.3, 0.5):
            w = torch.zeros(784, 10, requires_grad=True)
            for _ in range(1000):
                loss = torch.nn.functional.cross_entropy(xt @ w, yt)
                cost = loss + 0.5 * c * (w * w).sum()
                cost.backward()
                with torch.no_grad():
                    w -= lr * w.grad
                    w.grad.zero_()
                    out = xv @ w
                    float(torch.nn.functional.cross_entropy(out, yv))
                    float((out.argmax(1) == yv).float().mean())
            with torch.no_grad():
                float((tx @ w).argmax(1).eq(ty).float().mean())
    return {"seconds": time.perf_counter() - t0}


def main():
    which = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if len(sys.argv) > 3:
        torch.set_num_threads(int(sys.argv[3]))
    result = {"B1": b1, "B2": b2, "B3": b3, "B5": b5, "B6": b6, "B7": b7}[which](repeats)
    print("\t".join([which] + ["%s=%.6g" % (k, v) for k, v in sorted(result.items())]))


if __name__ == "__main__":
    main()
