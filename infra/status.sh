#!/usr/bin/env bash
# One line per service: up, running but not answering, or down.
source "$(dirname "$0")/lib.sh"

echo "state directory: $CUR_STATE_DIR"
for service in "${CUR_SERVICES[@]}"; do
  bash "$REPO_ROOT/infra/services/$service.sh" status || true
done
