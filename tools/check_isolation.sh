#!/usr/bin/env bash
# For each package: a fresh venv with `pip install ./shared ./<package>` only (plus its
# requirements-nodeps.txt), then its tests marked `smoke`. Proves each package installs and
# runs alone and imports nothing from a sibling.
# Usage: tools/check_isolation.sh PACKAGE [PACKAGE ...]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
iso="$root/.iso"
mkdir -p "$iso"
fails=0
summary=()
for pkg in "$@"; do
  t0=$(date +%s)
  venv="$iso/$pkg"
  rm -rf "$venv"
  echo "===== $pkg: fresh venv, pip install ./shared ./$pkg ====="
  ok=1
  python3 -m venv "$venv" || ok=0
  if [ $ok = 1 ]; then
    # the package's own extras are all it gets; no sibling is installed
    "$venv/bin/python" -m pip install -qq -c constraints.txt "./shared" "./$pkg[test]" || ok=0
  fi
  if [ $ok = 1 ] && [ -f "$pkg/requirements-nodeps.txt" ]; then
    "$venv/bin/python" -m pip install -qq --no-deps -c constraints.txt -r "$pkg/requirements-nodeps.txt" || ok=0
  fi
  if [ $ok = 1 ]; then
    # src layout: the tests import the installed (non-editable) package, not the source tree
    for sib in shared sparc modular_hyperteacher mesa_optimization lru_universality memory_adam nar_latent async_gnn cl_transfer l2m; do
      [ "$sib" = "$pkg" ] && continue
      [ "$sib" = shared ] && continue
      if (cd /tmp && "$venv/bin/python" -I -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('$sib') is None)" 2>/dev/null); then
        echo "sibling package $sib is importable in $pkg's venv"; ok=0
      fi
    done
    (cd "$pkg" && REPRO_NO_PROGRESS=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider -m smoke) || ok=0
  fi
  dt=$(( $(date +%s) - t0 ))
  if [ $ok = 1 ]; then summary+=("$(printf '%-22s ok   (%d s)' "$pkg" "$dt")"); rm -rf "$venv"
  else summary+=("$(printf '%-22s FAIL (%d s)' "$pkg" "$dt")"); fails=$((fails + 1)); fi
done
echo "===== check-isolation summary ====="
printf '%s\n' "${summary[@]}"
echo "$(( $# - fails )) isolated installs passed, $fails failed"
[ $fails = 0 ]
