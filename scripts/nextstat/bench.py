"""Time NextStat (a Rust HistFactory engine with Python bindings) on the cases of
`cargo bench -p fitfleet-engine`, so that scripts/bench-vs-pyhf can put it beside fitfleet and pyhf.

Prints one JSON line per measurement: {"case", "what", "median_s", "runs", "value"}.
usage: python bench.py REFERENCE_DIR [--quick]
"""
import json
import statistics
import sys
import time

import nextstat as ns

ref = sys.argv[1].rstrip("/") + "/"
quick = "--quick" in sys.argv
ns.set_threads(1)  # one core, as fitfleet's figures


def measure(case, what, runs, f):
    value = f()  # warm-up, and the answer for a sanity check
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    print(json.dumps({"case": case, "what": what, "median_s": statistics.median(times), "runs": runs, "value": repr(value)[:200]}), flush=True)


def model_of(ws, ps=None, patch=None):
    text = open(ref + ws).read()
    if ps:
        text = ns.apply_patchset(text, open(ref + ps).read(), patch_name=patch)
    return ns.from_pyhf(text)


runs = lambda n: max(1, n // 4) if quick else n
cases = [
    ("1lbb_C1N2_Wh_hbb_1000_0", "atlas-susy-2019-08-1lbb/BkgOnly.json", "atlas-susy-2019-08-1lbb/patchset.json", "C1N2_Wh_hbb_1000_0"),
    ("tttt", "atlas-tttt/workspace.json", None, None),
    ("erjr_ERJR_350p0_200p0", "atlas-susy-2018-06-3l-erjr/BkgOnly.json", "atlas-susy-2018-06-3l-erjr/patchset.json", "ERJR_350p0_200p0"),
]
for case, ws, ps, patch in cases:
    m = model_of(ws, ps, patch)
    measure(case, "fit", runs(3), lambda: ns.fit(m))
    if case != "erjr_ERJR_350p0_200p0":
        measure(case, "hypotest", runs(3), lambda: ns.hypotest(1.0, m))
    if case.startswith("1lbb"):
        if not quick:
            measure(case, "upper_limit", 1, lambda: ns.upper_limit(m, method="root"))
    if case == "tttt":
        # 100 toys, reported per 1000 (NextStat needs minutes for 1000 here).
        n = 20 if quick else 100
        t = time.perf_counter()
        ns.hypotest_toys(1.0, m, n_toys=n, seed=1)
        per_1000 = (time.perf_counter() - t) * 1000 / n
        print(json.dumps({"case": case, "what": "toys_1000", "median_s": per_1000, "runs": 1, "value": f"{n} toys, scaled to 1000"}), flush=True)
