#!/usr/bin/env python3
"""pyhf's workspace and patchset operations on the reference workspaces, as digests.

For fitfleet's `workspace combine|prune|rename|sort|digest` and `patchset
list|extract|apply|verify|inspect` parity tests: every case says which operation on which
inputs, and pyhf's answer as digests only (the reference workspaces are not redistributed):

- "result": the sha256 `pyhf.utils.digest` of the output, and "file_sha256", the sha256 of the
  bytes pyhf's CLI writes to --output-file (`json.dumps(out, indent=4, sort_keys=True)`);
- or "error": the pyhf exception's class and message.

An input is {"file": path relative to the reference folder, optionally "rename": {...} (applied
with Workspace.rename first) and "patch": [RFC 6902 operations] (applied after)}.

usage (the pyhf-reference venv's python, from the repository's root):
  ~/.cache/fitfleet/pyhf-venv/bin/python scripts/pyhf/workspace_ops.py ../shared/reference \
      > crates/engine/tests/data/pyhf_workspace_ops.json
"""
import hashlib
import io
import json
import os
import sys
from contextlib import redirect_stdout

import jsonpatch
import pyhf
from pyhf.cli.patchset import cli as patchset_cli
from click.testing import CliRunner

REF = sys.argv[1] if len(sys.argv) > 1 else "../shared/reference"

WORKSPACES = [
    "atlas-susy-2019-08-1lbb/BkgOnly.json",
    "atlas-susy-2018-06-3l-erjr/BkgOnly.json",
    "atlas-susy-2018-16-compressed/BkgOnly.json",
    "atlas-susy-2018-31-sbottom/RegionA/BkgOnly.json",
    "atlas-susy-2018-31-sbottom/RegionB/BkgOnly.json",
    "atlas-susy-2018-31-sbottom/RegionC/BkgOnly.json",
    "atlas-tttt/workspace.json",
] + sorted(
    os.path.join(group, case, "workspace.json")
    for group in ["pyhf-validation", "simplified"]
    for case in os.listdir(os.path.join(REF, group))
) + sorted(os.path.join("small", f) for f in os.listdir(os.path.join(REF, "small")))

# Operations on each of these (the others get digests and sort only, to keep the file small).
EDITED = [
    "atlas-susy-2019-08-1lbb/BkgOnly.json",
    "atlas-tttt/workspace.json",
    "atlas-susy-2018-31-sbottom/RegionA/BkgOnly.json",
    "small/complex_workspace.json",
    "pyhf-validation/2bin_2channel_coupledhistosys_mu1/workspace.json",
]


def load(spec):
    with open(os.path.join(REF, spec["file"]), encoding="utf-8") as f:
        ws = pyhf.Workspace(json.load(f))
    if "rename" in spec:
        ws = ws.rename(**spec["rename"])
    if "patch" in spec:
        ws = pyhf.Workspace(jsonpatch.apply_patch(dict(ws), spec["patch"]))
    return ws


def answer(thunk):
    try:
        out = thunk()
    except Exception as e:  # the kind of error is the point
        return {"error": {"kind": type(e).__name__, "message": str(e).splitlines()[0][:300]}}
    text = json.dumps(out, indent=4, sort_keys=True)
    return {
        "result": {
            "sha256": pyhf.utils.digest(out),
            "file_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        }
    }


cases = []


def case(name, op, inputs, args, thunk):
    entry = {"name": name, "op": op, "inputs": inputs, "args": args}
    entry.update(answer(thunk))
    cases.append(entry)


def prune_case(path, ws, **kw):
    args = {k: list(v) for k, v in kw.items()}
    label = ",".join(f"{k}={'+'.join(v)}" for k, v in args.items())
    case(f"prune {path} {label}", "prune", [{"file": path}], args, lambda: ws.prune(**kw))


def rename_case(path, ws, **kw):
    label = ",".join(f"{k}={'+'.join(f'{a}->{b}' for a, b in v.items())}" for k, v in kw.items())
    case(f"rename {path} {label}", "rename", [{"file": path}], kw, lambda: ws.rename(**kw))


def combine_case(name, left, right, join, merge=False):
    case(
        name,
        "combine",
        [left, right],
        {"join": join, "merge_channels": merge},
        lambda: pyhf.Workspace.combine(load(left), load(right), join=join, merge_channels=merge),
    )


# ---- digests and sort of every workspace ----
for path in WORKSPACES:
    entry = {"name": f"digest {path}", "op": "digest", "inputs": [{"file": path}], "args": {}}
    try:
        ws = load({"file": path})
    except Exception as e:  # pyhf refuses it: so must fitfleet
        entry["error"] = answer(lambda: load({"file": path}))["error"]
        cases.append(entry)
        continue
    entry["digests"] = {alg: pyhf.utils.digest(ws, algorithm=alg) for alg in ["sha256", "md5", "sha1", "sha512"]}
    cases.append(entry)
    case(f"sort {path}", "sort", [{"file": path}], {}, lambda: pyhf.Workspace.sorted(ws))

# ---- prune and rename ----
for path in EDITED:
    ws = load({"file": path})
    present = sorted(set(dict(ws.modifiers).values()))
    for t in sorted(pyhf.modifiers.histfactory_set):
        if t in present or t == "shapefactor":
            prune_case(path, ws, modifier_types=[t])
    first = ws["channels"][0]
    prune_case(path, ws, channels=[first["name"]])
    prune_case(path, ws, samples=[first["samples"][0]["name"]])
    non_lumi = [m for m in first["samples"][0]["modifiers"] if m["type"] != "lumi"]
    prune_case(path, ws, modifiers=[non_lumi[0]["name"]], samples=[first["samples"][-1]["name"]])
    prune_case(path, ws, measurements=[ws["measurements"][0]["name"]])
    prune_case(path, ws, channels=["no_such_channel"])
    prune_case(path, ws, modifiers=["no_such_modifier"])
    prune_case(path, ws, channels=[c["name"] for c in ws["channels"]])
    rename_case(
        path,
        ws,
        channels={first["name"]: "renamed_channel"},
        samples={first["samples"][0]["name"]: "renamed_sample"},
        modifiers={non_lumi[0]["name"]: "renamed_modifier", ws["measurements"][0]["config"]["poi"]: "renamed_poi"}
        if ws["measurements"][0]["config"]["poi"] in dict(ws.modifiers)
        else {non_lumi[0]["name"]: "renamed_modifier"},
        measurements={ws["measurements"][0]["name"]: "renamed_measurement"},
    )
    rename_case(path, ws, samples={"no_such_sample": "x"})
    if "lumi" in dict(ws.modifiers):
        rename_case(path, ws, modifiers={"lumi": "luminosity"})

# ---- combine ----
for path in ["atlas-susy-2019-08-1lbb/BkgOnly.json", "small/complex_workspace.json", "atlas-tttt/workspace.json"]:
    ws = load({"file": path})
    me = {"file": path}
    copy = {"file": path, "rename": {"channels": {c: f"{c}_copy" for c in ws.channels}}}
    for join in pyhf.Workspace.valid_joins:
        combine_case(f"combine {path} with itself, join {join}", me, me, join)
        combine_case(f"combine {path} with a copy of other channel names, join {join}", me, copy, join)
    combine_case(f"combine {path} with itself, merge channels with join none", me, me, "none", True)
    other_poi = dict(copy, patch=[{"op": "replace", "path": "/measurements/0/config/poi", "value": "other_poi"}])
    for join in ["outer", "left outer", "right outer"]:
        combine_case(f"combine {path} with a copy of another POI, join {join}", me, other_poi, join)
    config = ws["measurements"][0]["config"]["parameters"]
    if config:
        other_config = dict(
            copy, patch=[{"op": "replace", "path": "/measurements/0/config/parameters/0/inits", "value": [0.5]}]
        )
        combine_case(f"combine {path} with a copy of other parameter configs, join outer", me, other_config, "outer")
    renamed_samples = dict(
        me,
        rename={"samples": {s: f"{s}_copy" for s in ws.samples}},
        patch=[{"op": "replace", "path": "/observations/0/data/0", "value": 1}],
    )
    for join in ["outer", "left outer", "right outer"]:
        for merge in [False, True]:
            combine_case(
                f"combine {path} with a copy of other sample names and data, join {join}, merge {merge}",
                me,
                renamed_samples,
                join,
                merge,
            )

simplified = {"file": "simplified/SUSY-2019-08_simplified/workspace.json"}
one_point = {"file": "simplified/simplified_C1N2_Wh_hbb_700_250/workspace.json"}
for join in pyhf.Workspace.valid_joins:
    for merge in [False, True]:
        if merge and join == "none":
            continue
        combine_case(f"combine simplified 1Lbb and one point, join {join}, merge {merge}", simplified, one_point, join, merge)
measurement_renamed = dict(one_point, rename={"measurements": {"BasicMeasurement": "PointMeasurement"}})
combine_case("combine simplified 1Lbb and one point with another measurement, join outer, merge True",
             simplified, measurement_renamed, "outer", True)
combine_case("combine two validation workspaces, join none",
             {"file": "pyhf-validation/1bin_normsys_mu1/workspace.json"},
             {"file": "pyhf-validation/2bin_2channel_mu1/workspace.json"}, "none")
combine_case("combine two validation workspaces, join outer",
             {"file": "pyhf-validation/2bin_2channel_couplednorm_mu1/workspace.json"},
             {"file": "pyhf-validation/2bin_2channel_coupledhistosys_mu1/workspace.json"}, "outer", True)

# ---- patchsets ----
PATCHSETS = [
    ("atlas-susy-2019-08-1lbb/BkgOnly.json", "atlas-susy-2019-08-1lbb/patchset.json"),
    ("atlas-susy-2018-31-sbottom/RegionA/BkgOnly.json", "atlas-susy-2018-31-sbottom/RegionA/patchset.json"),
    ("atlas-susy-2018-06-3l-erjr/BkgOnly.json", "atlas-susy-2018-06-3l-erjr/patchset.json"),
]
runner = CliRunner()
for ws_path, ps_path in PATCHSETS:
    with open(os.path.join(REF, ps_path), encoding="utf-8") as f:
        spec = json.load(f)
    ps = pyhf.PatchSet(spec)
    ws = load({"file": ws_path})
    inspect = runner.invoke(patchset_cli, ["inspect", os.path.join(REF, ps_path)])
    cases.append({
        "name": f"inspect {ps_path}", "op": "patchset_inspect", "inputs": [], "patchset": ps_path, "args": {},
        "stdout_sha256": hashlib.sha256(inspect.output.encode("utf-8")).hexdigest(),
        "patches": len(ps), "labels": ps.labels,
    })
    # The first, the last and one that removes channels, if any.
    chosen = [ps.patches[0], ps.patches[-1]]
    removing = [p for p in ps.patches if any(op["op"] == "remove" for op in p.patch)]
    chosen += removing[:1]
    for p in chosen:
        name = p.name
        for with_metadata in [False, True]:
            def extract(p=p, with_metadata=with_metadata):
                if not with_metadata:
                    return p.patch
                result = {"metadata": dict(p.metadata), "patch": p.patch}
                result["metadata"].update(ps.metadata)
                return result
            entry = {"name": f"extract {ps_path} {name} metadata {with_metadata}", "op": "patchset_extract",
                     "inputs": [], "patchset": ps_path, "args": {"name": name, "with_metadata": with_metadata}}
            entry.update(answer(extract))
            cases.append(entry)
        entry = {"name": f"apply {ps_path} {name}", "op": "patchset_apply", "inputs": [{"file": ws_path}],
                 "patchset": ps_path, "args": {"name": name}}
        entry.update(answer(lambda name=name: ps.apply(ws, name)))
        cases.append(entry)
    entry = {"name": f"apply {ps_path} unknown", "op": "patchset_apply", "inputs": [{"file": ws_path}],
             "patchset": ps_path, "args": {"name": "no_such_patch"}}
    entry.update(answer(lambda: ps.apply(ws, "no_such_patch")))
    cases.append(entry)
    for other in [ws_path, "atlas-tttt/workspace.json"]:
        def verify(other=other):
            ps.verify(load({"file": other}))
            return {}
        entry = {"name": f"verify {ps_path} against {other}", "op": "patchset_verify", "inputs": [{"file": other}],
                 "patchset": ps_path, "args": {}}
        result = answer(verify)
        entry.update({"verified": True} if "result" in result else result)
        cases.append(entry)

json.dump(
    {
        "about": "pyhf's workspace and patchset operations on ../shared/reference, as digests; made by "
        "`~/.cache/fitfleet/pyhf-venv/bin/python scripts/pyhf/workspace_ops.py ../shared/reference`",
        "pyhf": pyhf.__version__,
        "cases": cases,
    },
    sys.stdout,
    indent=1,
)
print()
