#!/usr/bin/env python3
"""The best fp32 matrix product of two established BLAS on this machine, for bench/compare.sh:
PyTorch's torch.mm and NumPy's @ at 1024^3 and 2048^3, with the given thread count; the best of
five products each, after a warm-up. Prints one JSON object of GFLOP/s."""
import json, os, sys, time

threads = int(sys.argv[1])
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(threads)
import numpy as np  # noqa: E402  (after the thread variables)
import torch  # noqa: E402

torch.set_num_threads(threads)


def best(product, n):
    product()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        product()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times) / 1e9


result = {}
for n in (1024, 2048):
    a, b = torch.randn(n, n), torch.randn(n, n)
    result[f"torch_mm_{n}"] = best(lambda: torch.mm(a, b), n)
    x, y = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
    result[f"numpy_{n}"] = best(lambda: x @ y, n)
result["best"] = max(result.values())
result["torch"] = torch.__version__
result["numpy"] = np.__version__
print(json.dumps(result))
