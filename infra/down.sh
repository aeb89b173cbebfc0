#!/usr/bin/env bash
# Stop every service this state directory started (or the ones named), in reverse start order.
# Only processes named by our own pid files are touched.
source "$(dirname "$0")/lib.sh"

wanted=("$@")
((${#wanted[@]})) || wanted=("${CUR_SERVICES[@]}")
for ((i = ${#CUR_SERVICES[@]} - 1; i >= 0; i--)); do
  service="${CUR_SERVICES[i]}"
  [[ " ${wanted[*]} " == *" $service "* ]] || continue
  bash "$REPO_ROOT/infra/services/$service.sh" stop
done
