#!/usr/bin/env bash
# ./build.sh bench [NAME...]: runs bench/NAME.sh for each NAME given, or every
# bench/*.sh but this runner and lib.sh. Each prints its own ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$here"/*.sh; do
    n=$(basename "$f" .sh)
    [ "$n" = run ] || [ "$n" = lib ] || names+=("$n")
  done
fi
status=0
for n in "${names[@]}"; do
  echo "=== bench: $n"
  bash "$here/$n.sh" || { echo "bench $n failed" >&2; status=1; }
done
exit $status
