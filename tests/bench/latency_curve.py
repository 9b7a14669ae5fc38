"""Latency percentiles for the benchmark scripts, as the load generators
compute them (latency_curve.cc): the same percentile rule and the same
"nines" grid, so that pgbench's and h2load's logs, wrk's histogram and
callpush-grpc-load / callpush-push-load draw comparable curves.

percentile(values, q): values sorted ascending, q in [0, 1]; the sample at
index round(q * (n - 1)).

curve(values, digits): [[percentile, value], ...] at 0%, 20.6%, 36.9%, 50%,
then 100 * (1 - 10^(-k/10)) for k = 4, 5, ... (60.2%, 68.4%, ..., 90%, ...,
99%, ..., 99.9%, ...): evenly spaced on a log "nines" axis (x = -log10(1 -
p/100)), a tenth of a nine apart, up to 99.999%, and only as far as at
least one sample lies above the point (n * (1 - p/100) >= 1).
"""

MAX_TENTHS = 50  # 99.999%


def grid_percent(k):
    """The k-th point of the grid, in percent (k = 3 is exactly 50%)."""
    if k == 3:
        return 50.0
    return 100.0 * (1.0 - 10.0 ** (-k / 10.0))


def percentile(values, q):
    if not values:
        return None
    i = int(q * (len(values) - 1) + 0.5)
    return values[min(i, len(values) - 1)]


def curve(values, digits=3):
    """values: sorted ascending."""
    n = len(values)
    points = []
    for k in range(MAX_TENTHS + 1):
        p = grid_percent(k)
        if k > 0 and n * (1.0 - p / 100.0) < 1.0 - 1e-6:  # rounding
            break
        points.append([round(p, 4), round(values[min(int(p / 100.0 * (n - 1) + 0.5), n - 1)],
                                           digits)])
    return points if n else []
