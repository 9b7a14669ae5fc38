#!/usr/bin/env python3
"""run.sh's report: reads the stages' summary.json files (bench_summary.py),
and writes

- one flat JSON object (--json FILE, and results.json in --results),
- the results table between the bench:table markers of BENCHMARKS.md
  (--benchmarks), also printed on stdout,
- one latency plot per measure, and two overviews, as SVG (gnuplot) in
  --plots.

Aggregation over the runs of a measure: medians of the rates, of each
latency percentile, of each process's CPU per request and of the latency
curves (point by point); the maximum of each process's peak RSS; the sum of
the errors. See README.md here for the keys.
"""

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap

START = "<!-- bench:table:start -->"
END = "<!-- bench:table:end -->"

# Measures in table order: (name, rate key, what, ceiling for the ratio).
MEASURES = [
    ("pgbench", "pgbench_tps", "`pgbench -S -M prepared` (the database's ceiling)", None),
    ("grpc_list", "grpc_list_rps", "gRPC `ListCallableDevices`", "pgbench"),
    ("gateway_list", "gateway_list_rps", "`GET /v1/callable-devices`, separate gateway", "pgbench"),
    ("gateway_inproc_list", "gateway_inproc_list_rps",
     "`GET /v1/callable-devices`, in-process gateway", "pgbench"),
    ("gateway_call", "gateway_call_rps",
     "`POST /v1/call` (push to the sandbox), separate gateway", "pgbench"),
    ("gateway_inproc_call", "gateway_inproc_call_rps",
     "`POST /v1/call` (push to the sandbox), in-process gateway", "pgbench"),
]
for _c in (1, 4):
    MEASURES += [
        (f"h2load_{_c}conn", f"h2load_rps_{_c}conn",
         f"h2load to the sandbox, {_c} conn × 100 streams (the HTTP/2 ceiling)", None),
        (f"push_{_c}conn", f"push_rps_{_c}conn",
         f"push pool to the sandbox, {_c} conn × 100 streams", f"h2load_{_c}conn"),
    ]

PROCESS_ORDER = ["wrk", "grpc_load", "push_load", "h2load", "pgbench", "gateway", "server",
                 "postgres", "sandbox"]


def ratio_key(name):
    if name.startswith("push_"):
        return "push_ratio_" + name[len("push_"):]
    return name + "_ratio"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def median_curve(curves):
    """Point by point; the grids are prefixes of one grid, so the shortest
    one says how far all of them reach."""
    curves = [c for c in curves if c]
    if not curves:
        return []
    n = min(len(c) for c in curves)
    return [[curves[0][i][0], statistics.median(c[i][1] for c in curves)] for i in range(n)]


def aggregate(runs):
    out = {}
    if not runs:
        return out
    out["rate"] = med(r["rate"] for r in runs)
    out["rates"] = [r["rate"] for r in runs]
    out["target_rate"] = med(r.get("target_rate") for r in runs)
    out["latency_ms"] = {q: med(r["latency_ms"].get(q) for r in runs)
                         for q in ("p50", "p99", "p99.9", "max")}
    out["curve"] = median_curve([r["curve_ms"] for r in runs])
    procs = {p for r in runs for p in r["cpu_s_per_1k"]}
    out["cpu"] = {p: med(r["cpu_s_per_1k"].get(p) for r in runs) for p in procs}
    procs = {p for r in runs for p in r["rss_mib"]}
    out["rss"] = {p: max(r["rss_mib"][p] for r in runs if p in r["rss_mib"]) for p in procs}
    pss = [r["postgres_pss_mib"] for r in runs if "postgres_pss_mib" in r]
    out["pss"] = max(pss) if pss else None
    out["errors"] = sum(r["errors"] for r in runs)
    out["requests"] = sum(r["requests"] for r in runs)
    out["others"] = med(r.get("others_cores") for r in runs)
    out["runs"] = len(runs)
    return out


def ordered(d):
    return sorted(d, key=lambda p: PROCESS_ORDER.index(p) if p in PROCESS_ORDER else 99)


def r(x, digits):
    return None if x is None else round(x, digits)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def flat_json(args, measures, stage_settings):
    j = {
        "commit": args.commit,
        "uncommitted_diff_sha256": args.diff_sha or None,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": f"{os.cpu_count()} CPUs ({cpu_model()}), Linux {platform.release()}",
        "build_type": args.build_type or None,
        "load_avg_start": float(args.loadavg_start.split()[0]),
        "load_avg_end": float(args.loadavg_end.split()[0]),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "concurrency": args.concurrency,
        "db_workers": args.db_workers,
        "patients": args.patients,
        "build_s": args.build_s,
    }
    for name, rate_key, _, ceiling in MEASURES:
        m = measures.get(name)
        if not m or not m["peak"]:
            continue
        p, q = m["peak"], m["paced"]
        j[rate_key] = r(p["rate"], 1)
        if name == "pgbench":
            j["pgbench_tps_min"] = r(min(p["rates"]), 1)
            j["pgbench_tps_max"] = r(max(p["rates"]), 1)
        lat = p["latency_ms"]
        j[f"{name}_p50_ms"] = r(lat["p50"], 3)
        j[f"{name}_p99_ms"] = r(lat["p99"], 3)
        j[f"{name}_p999_ms"] = r(lat["p99.9"], 3)
        j[f"{name}_cpu_s_per_1k"] = r(sum(v for v in p["cpu"].values() if v is not None), 4)
        for proc in ordered(p["cpu"]):
            j[f"{name}_{proc}_cpu_s_per_1k"] = r(p["cpu"][proc], 4)
        for proc in ordered(p["rss"]):
            j[f"{name}_{proc}_rss_mib"] = r(p["rss"][proc], 1)
        if p["pss"] is not None:
            j[f"{name}_postgres_pss_mib"] = r(p["pss"], 1)
        j[f"{name}_errors"] = p["errors"]
        j[f"{name}_runs"] = p["runs"]
        if p["others"] is not None:
            j[f"{name}_others_cores"] = r(p["others"], 2)
        if q:
            j[f"{name}_paced_target_rps"] = r(q["target_rate"], 1)
            j[f"{name}_paced_rps"] = r(q["rate"], 1)
            j[f"{name}_paced_p50_ms"] = r(q["latency_ms"]["p50"], 3)
            j[f"{name}_paced_p99_ms"] = r(q["latency_ms"]["p99"], 3)
            j[f"{name}_paced_p999_ms"] = r(q["latency_ms"]["p99.9"], 3)
            j[f"{name}_paced_errors"] = q["errors"]
        if ceiling and measures.get(ceiling, {}).get("peak"):
            j[ratio_key(name)] = r(p["rate"] / measures[ceiling]["peak"]["rate"], 4)
    for stage, settings in stage_settings.items():
        if "load_fraction" in settings:
            j[f"{stage}_paced_fraction"] = settings["load_fraction"]
    j["wall_s"] = round(float(datetime.datetime.now().timestamp()) - args.started, 1)
    return j


def fmt(x, spec, dash="-"):
    return dash if x is None else format(x, spec)


def table(args, j, measures, plots_rel):
    mode = "`--quick`" if args.quick else "full"
    dirty = (f" + uncommitted changes (diff sha256 {args.diff_sha})" if args.diff_sha else "")
    lines = [
        f"Written by `tests/bench/run.sh` ({mode} run, {j['date']}); do not edit by "
        "hand: the next run rewrites everything between the markers.",
        "",
        f"- code: {args.commit}{dirty}; build: {args.build_type or '(default)'}",
        f"- machine: {j['machine']}; load average (1/5/15 min) at start -> end: "
        f"{args.loadavg_start} -> {args.loadavg_end}",
        f"- runs: {args.duration:g} s measured after {args.warmup:g} s of warm-up; "
        f"{args.concurrency} requests in flight (pgbench clients, gRPC slots, wrk "
        f"connections); {args.patients} patients; the whole command took "
        f"{j['wall_s']:.0f} s (build {args.build_s:.0f} s)",
        "",
        "| measure | rate /s | ÷ ceiling | p50 / p99 / p99.9 ms | paced: /s, p99 ms "
        "| CPU s per 1000 requests: all (by process) | peak RSS MiB | errors | plot |",
        "|---|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for name, rate_key, what, ceiling in MEASURES:
        m = measures.get(name)
        if not m or not m["peak"]:
            continue
        p, q = m["peak"], m["paced"]
        if ceiling:
            ratio = j.get(ratio_key(name))
            ceil_txt = f"**{100 * ratio:.0f}%**" if ratio is not None else "-"
        else:
            ceil_txt = "(ceiling)"
        lat = p["latency_ms"]
        paced = "-"
        if q:
            over = " (overloaded)" if q["rate"] < 0.97 * (q["target_rate"] or 0) else ""
            paced = f"{q['rate']:.0f}{over}, {fmt(q['latency_ms']['p99'], '.2f')}"
        cpu_total = j[f"{name}_cpu_s_per_1k"]
        by = ", ".join(f"{proc} {p['cpu'][proc]:.3f}" for proc in ordered(p["cpu"])
                       if p["cpu"][proc] is not None)
        rss = ", ".join(f"{proc} {p['rss'][proc]:.0f}" for proc in ordered(p["rss"]))
        if p["pss"] is not None:
            rss += (", " if rss else "") + f"postgres (Pss) {p['pss']:.0f}"
        rate = f"{p['rate']:.0f}"
        if p["runs"] > 1:
            rate += " (" + ", ".join(f"{x:.0f}" for x in p["rates"]) + ")"
        lines.append(
            f"| {what} | {rate} | {ceil_txt} | {fmt(lat['p50'], '.2f')} / "
            f"{fmt(lat['p99'], '.2f')} / {fmt(lat['p99.9'], '.2f')} | {paced} "
            f"| **{cpu_total:.3f}** ({by}) | {rss} | {p['errors']} "
            f"| [svg]({plots_rel}/{name}.svg) |")
    fr = {s: j.get(f"{s}_paced_fraction") for s in ("grpc", "gateway", "push")}
    lines += [
        "",
        "÷ ceiling: the rate over `pgbench -S`'s on the same Postgres (the median of "
        f"its {measures['pgbench']['peak']['runs'] if measures.get('pgbench') else 0} runs), "
        "or, for the push pool, over h2load's with the same connections and streams. "
        "Rates and latency from closed-loop runs (as many requests in flight as "
        "said; medians over the runs, each in brackets); 'paced' runs at "
        f"{fmt(fr['grpc'], '.0%')} (gRPC), {fmt(fr['gateway'], '.0%')} (gateway) and "
        f"{fmt(fr['push'], '.0%')} (push pool) of that peak. CPU: utime + stime of "
        "every process on the path over the measured window (Postgres: its "
        "backends); peak RSS: VmHWM, since the process started (Postgres: Pss "
        "of all its processes). Figures of one run on a 2-core machine shared "
        "with the load generators: compare ratios, not rates. Details: "
        "`tests/bench/results/last/` and `tests/bench/README.md`.",
        "",
        f"![latency of the database paths]({plots_rel}/overview-db.svg)",
        f"![latency of the push paths]({plots_rel}/overview-push.svg)",
    ]
    return wrap_prose("\n".join(lines))


def wrap_prose(text, width=76):
    """Wraps the prose lines of `text` as the rest of BENCHMARKS.md is
    wrapped; table rows, images and blank lines stay as they are."""
    out = []
    for line in text.split("\n"):
        if not line or line.startswith(("|", "!", "<")):
            out.append(line)
        elif line.startswith("- "):
            out.append(textwrap.fill(line, width, subsequent_indent="  ",
                                     break_long_words=False, break_on_hyphens=False))
        else:
            out.append(textwrap.fill(line, width, break_long_words=False,
                                     break_on_hyphens=False))
    return "\n".join(out)


def nines(p):
    return -math.log10(1 - p / 100.0) if p < 100 else None


def write_dat(path, curve):
    with open(path, "w") as f:
        for p, v in curve:
            x = nines(p)
            if x is not None and v and v > 0:
                f.write(f"{x:.5f} {v:.6f}\n")


GNUPLOT_HEAD = """set terminal svg size 760,500 dynamic enhanced font "sans,11" background rgb "white"
set output "{out}"
set title "{title}" noenhanced
set xlabel "percentile (a scale of nines)"
set ylabel "latency, ms"
set logscale y
set grid xtics ytics mytics
set key below maxrows 3 noenhanced
set xtics ("50%%" 0.30103, "90%%" 1, "99%%" 2, "99.9%%" 3, "99.99%%" 4, "99.999%%" 5)
set xrange [0:5]
set rmargin 6
"""


def plot(gnuplot_dir, out, title, series):
    """series: [(label, curve)]; draws those with at least two points."""
    series = [(label, c) for label, c in series if len(c) >= 2]
    if not series:
        return False
    script = GNUPLOT_HEAD.format(out=out, title=title)
    parts = []
    for i, (label, c) in enumerate(series):
        dat = os.path.join(gnuplot_dir, f"{os.path.basename(out)}.{i}.dat")
        write_dat(dat, c)
        parts.append(f'"{dat}" using 1:2 with linespoints pointsize 0.5 lw 1.5 '
                     f'title "{label}"')
    script += "plot " + ", \\\n     ".join(parts) + "\n"
    path = os.path.join(gnuplot_dir, os.path.basename(out) + ".gp")
    with open(path, "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", path], check=True)
    return True


def plots(args, measures, stage_settings, j):
    os.makedirs(args.plots, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="plots.", dir=args.work)
    stamp = f"{args.commit}, {j['date'][:16]}{', quick' if args.quick else ''}"
    written = []
    labels = dict((name, what) for name, _, what, _ in MEASURES)
    fractions = {"grpc_list": "grpc", "push_1conn": "push", "push_4conn": "push"}
    for name, m in measures.items():
        if not m["peak"]:
            continue
        p, q = m["peak"], m["paced"]
        series = [(f"closed loop, {p['rate']:.0f}/s", p["curve"])]
        if q:
            stage = fractions.get(name, "gateway")
            f = stage_settings.get(stage, {}).get("load_fraction")
            series.append((f"paced at {fmt(f, '.0%')} of the peak, {q['rate']:.0f}/s",
                           q["curve"]))
        title = f"{labels.get(name, name)} ({stamp})".replace("`", "")
        if plot(tmp, os.path.join(args.plots, f"{name}.svg"), title, series):
            written.append(f"{name}.svg")
    overviews = {
        "overview-db": ["pgbench", "grpc_list", "gateway_list", "gateway_inproc_list",
                        "gateway_call", "gateway_inproc_call"],
        "overview-push": ["h2load_1conn", "push_1conn", "h2load_4conn", "push_4conn"],
    }
    titles = {"overview-db": "closed loop: database paths",
              "overview-push": "closed loop: the push pool vs h2load"}
    for name, members in overviews.items():
        series = [(f"{k}, {measures[k]['peak']['rate']:.0f}/s", measures[k]["peak"]["curve"])
                  for k in members if measures.get(k, {}).get("peak")]
        if plot(tmp, os.path.join(args.plots, f"{name}.svg"), f"{titles[name]} ({stamp})",
                series):
            written.append(f"{name}.svg")
    return written


def replace_table(path, text):
    with open(path) as f:
        doc = f.read()
    if START not in doc or END not in doc or doc.index(START) > doc.index(END):
        raise SystemExit(f"report.py: {path} has no {START} ... {END} lines; "
                         "the table was not written there")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{text}\n{END}{tail}"
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".BENCHMARKS.")
    with os.fdopen(fd, "w") as f:
        f.write(new)
    os.chmod(tmp, os.stat(path).st_mode & 0o777)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--plots", required=True)
    ap.add_argument("--benchmarks")
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--commit", default="?")
    ap.add_argument("--diff-sha", default="")
    ap.add_argument("--build-type", default="")
    ap.add_argument("--loadavg-start", default="0 0 0")
    ap.add_argument("--loadavg-end", default="0 0 0")
    ap.add_argument("--started", type=float, required=True)
    ap.add_argument("--build-s", type=float, default=0)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--warmup", type=float, required=True)
    ap.add_argument("--concurrency", type=int, required=True)
    ap.add_argument("--db-workers", type=int, required=True)
    ap.add_argument("--patients", type=int, required=True)
    args = ap.parse_args()

    runs, stage_settings = [], {}
    for stage in ("grpc", "gateway", "push"):
        with open(os.path.join(args.work, stage, "summary.json")) as f:
            s = json.load(f)
        runs += s["runs"]
        stage_settings[stage] = s["settings"]
    measures = {}
    for name in dict.fromkeys(r["measure"] for r in runs):
        mine = [x for x in runs if x["measure"] == name]
        measures[name] = {"peak": aggregate([x for x in mine if x["kind"] == "peak"]),
                          "paced": aggregate([x for x in mine if x["kind"] == "paced"])}

    j = flat_json(args, measures, stage_settings)
    written = plots(args, measures, stage_settings, j)
    j["wall_s"] = round(float(datetime.datetime.now().timestamp()) - args.started, 1)
    plots_rel = os.path.relpath(args.plots, os.path.dirname(os.path.abspath(args.benchmarks))
                                if args.benchmarks else args.results)
    text = table(args, j, measures, plots_rel)

    out = json.dumps(j, indent=1) + "\n"
    with open(os.path.join(args.results, "results.json"), "w") as f:
        f.write(out)
    if args.json:
        with open(args.json, "w") as f:
            f.write(out)
    with open(os.path.join(args.results, "table.md"), "w") as f:
        f.write(text + "\n")
    if args.benchmarks:
        replace_table(args.benchmarks, text)
    print(text)
    print()
    print(f"plots: {', '.join(written)} in {args.plots}", file=sys.stderr)
    print(f"JSON: {os.path.join(args.results, 'results.json')}"
          + (f" and {args.json}" if args.json else ""), file=sys.stderr)
    if args.benchmarks:
        print(f"table: {args.benchmarks}", file=sys.stderr)


if __name__ == "__main__":
    main()
