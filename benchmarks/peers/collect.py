#!/usr/bin/env python3
"""collect: one markdown report from a run-all.sh results directory.

    python3 collect.py RESULTS_DIR > RESULTS_DIR/summary.md

Reads invconv.json (invconv bench --json) and the peers' tab-separated outputs (onednn.tsv,
torch.tsv, ort.tsv: name, median_ms, p10_ms, p90_ms, note; '#' lines are headers) and prints,
per suite, one table: invconv's median, GFLOP/s and % of peak next to each peer's median, the
plain-Java reference's, and invconv's speed-up over the fastest peer. Standard library only.

The models suite (whole networks, op "model": resnet50_mb1ih224, rednet26_mb1ih224, ...) gets the
same table without the peers that have no figure for any of its cases (oneDNN times single
primitives only), followed by what each peer ran per case (PyTorch: the model and its parameter
count; ORT Java: the check of its logits against PyTorch's). Without invconv.json (invconv bench
failed) the tables list the cases of cases.txt with the peers' figures only.
"""
import json
import os
import re
import sys

PEERS = [("onednn.tsv", "oneDNN"), ("torch.tsv", "PyTorch"), ("ort.tsv", "ORT Java")]
MODEL = re.compile(r"^(resnet|rednet)\d+_mb\d+ih\d+$")


def cases_from_list(path):
    """Without invconv.json (invconv bench failed): the cases of cases.txt ('# suite: ...' headers), no figures."""
    cases, suite = [], "cases"
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("#"):
                    suite = line[1:].split(":", 1)[0].strip() or suite
                elif line:
                    cases.append({"name": line, "suite": suite, "op": "model" if MODEL.match(line) else "?",
                                  "median_ms": None, "gflops": None, "pct_peak": None})
    return cases


def read_peer(path):
    """{name: median_ms or None}, the header comment lines, and {name: note (the last column)}."""
    times, headers, notes = {}, [], {}
    if not os.path.exists(path):
        return None, [], {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("#"):
                if not line.startswith("# name"):
                    headers.append(line[1:].strip())
                continue
            fields = line.split("\t")
            notes[fields[0]] = fields[-1] if len(fields) > 2 else ""
            try:
                times[fields[0]] = float(fields[1])
            except (IndexError, ValueError):
                times[fields[0]] = None  # n/a
    return times, headers, notes


def read_round_trip(out, r):
    """The core round trip (ns, as text) measured before round r of an alternating script
    (benchmarks/common.sh alternate_rounds), or "?" when there is none."""
    path = f"{out}/phase-{r}.txt"
    if os.path.exists(path):
        with open(path) as f:
            text = f.read().strip()
        if text:
            return text
    return "?"


def ms(value):
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}" if value >= 1 else f"{value:.3f}" if value >= 0.01 else f"{value:.4f}"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    missing = not os.path.exists(os.path.join(out, "invconv.json"))
    if missing:
        cases = cases_from_list(os.path.join(out, "cases.txt"))
    else:
        with open(os.path.join(out, "invconv.json")) as f:
            cases = json.load(f)
    peers = []
    for file, label in PEERS:
        times, headers, notes = read_peer(os.path.join(out, file))
        if times is not None:
            peers.append((label, times, headers, notes))

    print("# invconv benchmark summary\n")
    machine = os.path.join(out, "machine.txt")
    if os.path.exists(machine):
        print("```")
        print(open(machine).read().strip())
        print("```\n")
    if missing:
        print("- invconv: no invconv.json (invconv bench failed, see invconv.txt): peers only")
    elif cases:
        c0 = cases[0]
        peak = c0.get("peak_gflops")
        line = f"- invconv: {c0['threads']} threads, ISA {c0['isa']}"
        if peak:
            line += f", measured fp32 peak {peak:.1f} GFLOP/s"
        if c0.get("quick"):
            line += ", --quick (indicative only)"
        print(line)
    for label, _, headers, _ in peers:
        for h in headers:
            print(f"- {label}: {h}")
    print()

    java = any(c.get("java_median_ms") is not None for c in cases)
    suites = []
    for c in cases:
        if c["suite"] not in suites:
            suites.append(c["suite"])
    all_peers = peers
    for suite in suites:
        rows = [c for c in cases if c["suite"] == suite]
        models = all(c.get("op") == "model" for c in rows)
        peers = all_peers
        if models:  # whole networks: leave out peers without any figure (oneDNN: single primitives only)
            peers = [p for p in all_peers if any(p[1].get(c["name"]) is not None for c in rows)]
        targets = any(c.get("target_ms") is not None for c in rows)
        print(f"## {suite}\n")
        head = ["case", "x", "invconv ms", "GFLOP/s", "% peak"] + [p[0] + " ms" for p in peers]
        if java:
            head.append("plain Java ms")
        head.append("vs best peer")
        if targets:
            head.append("target ms")
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        totals = {"invconv": 0.0}
        complete = {label: True for label, _, _, _ in peers}
        for label, _, _, _ in peers:
            totals[label] = 0.0
        for c in rows:
            median = c["median_ms"]
            if median is None:
                complete["invconv"] = False
            else:
                totals["invconv"] += c.get("count", 1) * median
            cells = [f"`{c['name']}`", str(c.get("count", 1)), ms(median),
                     f"{c['gflops']:.1f}" if c.get("gflops") is not None else "-",
                     f"{c['pct_peak']:.1f}" if c.get("pct_peak") is not None else "-"]
            best = None
            for label, times, _, _ in peers:
                t = times.get(c["name"])
                cells.append(ms(t))
                if t is None:
                    complete[label] = False
                else:
                    totals[label] += c.get("count", 1) * t
                    best = t if best is None else min(best, t)
            if java:
                cells.append(ms(c.get("java_median_ms")))
            cells.append(f"{best / median:.2f}x" if best and median else "-")
            if targets:
                t = c.get("target_ms")
                cells.append("" if t is None else f"{t:g} {'ok' if median is not None and median <= t else 'MISSED'}")
            if c.get("check") == "FAIL":
                cells[0] += " **(check FAILED)**"
            print("| " + " | ".join(cells) + " |")
        parts = [f"invconv {totals['invconv']:.2f} ms" if complete.get("invconv", True) else "invconv incomplete"]
        for label, _, _, _ in peers:
            parts.append(f"{label} {totals[label]:.2f} ms" if complete[label] else f"{label} incomplete")
        print(f"\nSum over the suite, each case times its count x: {', '.join(parts)}.\n")
        print("vs best peer: the fastest peer's median over invconv's (> 1: invconv is faster).\n")
        if models:
            for label, times, _, notes in all_peers:
                if not any(times is p[1] for p in peers):
                    reasons = sorted({notes.get(c["name"]) or "no row" for c in rows})
                    print(f"Left out, no figure for any case: {label} ({'; '.join(reasons)}).\n")
            for label, times, _, notes in peers:
                for c in rows:
                    note = notes.get(c["name"])
                    if note:
                        print(f"- {label}, `{c['name']}`: {note}")
            print()


if __name__ == "__main__":
    main()
