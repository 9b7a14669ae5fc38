"""summary.json: what each stage of run.sh (grpc_bench.sh, gateway_bench.sh,
push_bench.sh) leaves in its work directory for run.sh's report (report.py).

    {"stage": "grpc", "settings": {...},
     "runs": [{"measure": "grpc_list", "kind": "peak" | "paced",
               "rate": req/s, "target_rate": req/s or null,
               "requests": n, "errors": n,
               "latency_ms": {"p50", "p99", "p99.9", "max"},
               "curve_ms": [[percentile, ms], ...],
               "cpu_s_per_1k": {process: CPU seconds per 1000 requests},
               "rss_mib": {process: peak RSS, MiB},
               "postgres_pss_mib": MiB or absent,
               "others_cores": cores or absent}, ...]}

One entry per measured run: "peak" is a closed-loop run (its rate is the
measure's rate), "paced" an open-loop one at a fraction of the peak. A
measure that a stage runs several times (pgbench -S before and after, the
gateway's pairs, the push pool's repeats) has several entries; report.py
takes medians. Process names: pgbench, postgres, grpc_load, server,
gateway, wrk, sandbox, push_load, h2load.
"""

import json
import os

MIB = 1024.0


def ms(us_dict):
    """A {"p50": µs, ...} dict in milliseconds (None stays None)."""
    return {k: (None if v is None else v / 1000.0) for k, v in us_dict.items()}


def curve_ms(curve, divisor):
    return [[p, v / divisor] for p, v in curve]


def per_1k(cpu_us_per_request):
    """µs per request -> CPU seconds per 1000 requests."""
    return {k: v / 1000.0 for k, v in cpu_us_per_request.items()}


def mib(kb_dict):
    return {k: v / MIB for k, v in kb_dict.items() if v is not None and v >= 0}


def run(measure, kind, rate, *, requests, errors, latency_ms, curve, cpu_s_per_1k,
        rss_mib, target_rate=None, postgres_pss_mib=None, others_cores=None):
    r = {"measure": measure, "kind": kind, "rate": rate, "target_rate": target_rate,
         "requests": requests, "errors": errors,
         "latency_ms": {k: latency_ms.get(k) for k in ("p50", "p99", "p99.9", "max")},
         "curve_ms": curve, "cpu_s_per_1k": cpu_s_per_1k, "rss_mib": rss_mib}
    if postgres_pss_mib is not None:
        r["postgres_pss_mib"] = postgres_pss_mib
    if others_cores is not None:
        r["others_cores"] = others_cores
    return r


def pgbench_run(j):
    """An entry for a run_pgbench JSON (lib.sh)."""
    return run("pgbench", "peak", j["tps"], requests=j["transactions"], errors=j["failed"],
               latency_ms=ms(j["latency_us"]), curve=curve_ms(j["latency_curve_us"], 1000.0),
               cpu_s_per_1k=per_1k({"pgbench": j["client_cpu_us_per_request"],
                                    "postgres": j["pg_cpu_us_per_request"]}),
               rss_mib=mib({"pgbench": j["pgbench_vmhwm_kb"]}),
               postgres_pss_mib=j["pg_pss_kb"] / MIB,
               others_cores=j["others_cpu_s"] / j["wall_s"] if j["wall_s"] else None)


def write(work, stage, settings, runs):
    with open(os.path.join(work, "summary.json"), "w") as f:
        json.dump({"stage": stage, "settings": settings, "runs": runs}, f)
