#!/usr/bin/env bash
# Copy the operator's CRDs into the chart (Helm installs only files inside the chart), or with --check fail when
# the copies differ. operator/crds/ is the one definition; charts/stockfeed/crds/ is generated from it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source_dir="$repo/operator/crds"
chart_dir="$repo/charts/stockfeed/crds"
mode="${1:-sync}"

shopt -s nullglob
sources=("$source_dir"/*.yaml)
if [ ${#sources[@]} -eq 0 ]; then
  echo "no CRDs in $source_dir" >&2
  exit 1
fi
status=0
for crd in "${sources[@]}"; do
  copy="$chart_dir/$(basename "$crd")"
  if [ "$mode" = "--check" ]; then
    if ! cmp -s "$crd" "$copy"; then
      echo "$copy differs from $crd: run charts/sync-crds.sh" >&2
      status=1
    fi
  else
    mkdir -p "$chart_dir"
    cp "$crd" "$copy"
  fi
done
# copies whose source is gone
for copy in "$chart_dir"/*.yaml; do
  if [ ! -e "$source_dir/$(basename "$copy")" ]; then
    if [ "$mode" = "--check" ]; then
      echo "$copy has no source in $source_dir" >&2
      status=1
    else
      rm "$copy"
    fi
  fi
done
exit "$status"
