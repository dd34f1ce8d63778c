#!/usr/bin/env python3
"""torch.mm on every product shape of a training step (and the MLP's scoring decoder), in the
four storage layouts (a and b stored as [m, k] / [k, n] or transposed), beside `vae bench
--shapes`, whose JSON it reads on stdin for the shapes. Each product is timed as that command
times ours: the best of seven timings of about 20 ms, taken in turns. Prints GFLOP/s as JSON."""
import json, os, sys, time

threads = int(sys.argv[1])
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(threads)
import torch  # noqa: E402  (after the thread variables)

torch.set_num_threads(threads)
ROUNDS = 7
LAYOUTS = [(False, False), (False, True), (True, False), (True, True)]


def product(m, k, n, a_t, b_t, accumulate):
    a = torch.randn(k, m).t() if a_t else torch.randn(m, k)
    b = torch.randn(n, k).t() if b_t else torch.randn(k, n)
    c = torch.zeros(m, n)
    if accumulate:
        return lambda: c.addmm_(a, b)  # dW += dy^T x, as training does
    return lambda: torch.mm(a, b, out=c)


def best_seconds(products):
    repeats = []
    for p in products:
        start = time.perf_counter()
        p()
        repeats.append(min(max(int(0.02 / max(time.perf_counter() - start, 1e-7)), 1), 10000))
    best = [float("inf")] * len(products)
    for _ in range(ROUNDS):
        for i, (p, r) in enumerate(zip(products, repeats)):
            start = time.perf_counter()
            for _ in range(r):
                p()
            best[i] = min(best[i], (time.perf_counter() - start) / r)
    return best


rows = []
for s in json.load(sys.stdin)["shapes"]:
    m, k, n = s["m"], s["k"], s["n"]
    accumulate = "weight grad" in s["name"]
    seconds = best_seconds([product(m, k, n, a_t, b_t, accumulate) for a_t, b_t in LAYOUTS])
    layouts = {
        ("t" if a_t else "n") + ("t" if b_t else "n"): 2 * m * k * n / t / 1e9
        for (a_t, b_t), t in zip(LAYOUTS, seconds)
    }
    rows.append({"name": s["name"], "gflops": layouts})
print(json.dumps({"torch": torch.__version__, "shapes": rows}))
