#!/usr/bin/env bash
# Compute pyhf's answers with the legacy interpolation codes (normsys code1, histosys code0) for
# a spread of reference workspaces, with ../shared/tools/pyhf-reference, then gather them into
# crates/engine/tests/data/pyhf-code1-cases.json (see cases.py). Takes about half an hour.
# usage: scripts/pyhf/run-code1.sh [OUTDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
T=${FITFLEET_SHARED:-$root/../shared}/tools/pyhf-reference
R=${FITFLEET_REFERENCE:-$root/../shared/reference}
O=${1:-$(mktemp -d)}
common="--interp code1 --backends numpy --warmup 0 --repeats 1"
for c in $(cd "$R" && ls -d pyhf-validation/*/ simplified/*/); do
  n=$(echo $c | tr '/' '_' | sed 's/_$//')
  nice $T --workspace $R/$c/workspace.json $common --steps fit,hypotest,ul --out $O/code1_$n.json > $O/log_$n.txt 2>&1
done
nice $T --workspace $R/atlas-tttt/workspace.json $common --steps fit,hypotest --out $O/code1_tttt.json > $O/log_tttt.txt 2>&1
nice $T --workspace $R/atlas-susy-2019-08-1lbb/BkgOnly.json --patchset $R/atlas-susy-2019-08-1lbb/patchset.json --patches C1N2_Wh_hbb_1000_0,C1N2_Wh_hbb_300_25 --bkg-only $common --steps fit,hypotest --out $O/code1_1lbb.json > $O/log_1lbb.txt 2>&1
nice $T --workspace $R/atlas-susy-2018-31-sbottom/RegionA/BkgOnly.json --patchset $R/atlas-susy-2018-31-sbottom/RegionA/patchset.json --patches sbottom_1300_205_60 $common --steps fit,hypotest --out $O/code1_sbottomA.json > $O/log_sbottomA.txt 2>&1
nice $T --workspace $R/atlas-susy-2018-06-3l-erjr/BkgOnly.json --patchset $R/atlas-susy-2018-06-3l-erjr/patchset.json --patches ERJR_350p0_200p0 $common --steps fit --out $O/code1_erjr.json > $O/log_erjr.txt 2>&1
python3 "$here/cases.py" "$R" "$O" > "$root/crates/engine/tests/data/pyhf-code1-cases.json"
echo "wrote crates/engine/tests/data/pyhf-code1-cases.json from $O"
