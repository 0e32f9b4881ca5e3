#!/usr/bin/env python3
"""POT's answers for engram's Sinkhorn parity test (tests/parity/ot_sinkhorn_pot_test.cpp).

Reads problems from IN, solves each with POT's log-domain Sinkhorn in double precision, writes
the plan, the transport cost and the log-scalings to OUT. Exits 3 when POT cannot be imported,
so the C++ test fails with that reason (CI installs POT from python/requirements-dev.txt).

Input, whitespace-separated:  count, then per problem: n m reg tol max_iter, a (n), b (m), M (n*m).
Output per problem: iterations, cost (<P, M>, as ot.sinkhorn2), err, plan (n*m), log_u (n), log_v (m).
"""
import sys

try:
    import numpy as np
    import ot
except ImportError as e:  # noqa: F841
    sys.stderr.write(f"pot_reference.py: cannot import POT/numpy ({e}); pip install -r python/requirements-dev.txt\n")
    sys.exit(3)


def main(path_in, path_out):
    tokens = open(path_in).read().split()
    pos = 0

    def take(k):
        nonlocal pos
        out = np.array([float(t) for t in tokens[pos:pos + k]], dtype=np.float64)
        pos += k
        return out

    count = int(take(1)[0])
    lines = [f"pot {ot.__version__}"]
    for _ in range(count):
        n, m, reg, tol, max_iter = take(5)
        n, m, max_iter = int(n), int(m), int(max_iter)
        a, b = take(n), take(m)
        M = take(n * m).reshape(n, m)
        plan, log = ot.bregman.sinkhorn_log(a, b, M, reg, numItermax=max_iter, stopThr=tol, log=True)
        # What ot.sinkhorn2(..., method="sinkhorn_log") returns, without solving a second time.
        cost = np.sum(plan * M)
        lines.append(f"{log['niter']} {float(cost):.17g} {log['err'][-1]:.17g}")
        lines.append(" ".join(f"{v:.17g}" for v in plan.ravel()))
        lines.append(" ".join(f"{v:.17g}" for v in log["log_u"]))
        lines.append(" ".join(f"{v:.17g}" for v in log["log_v"]))
    open(path_out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
