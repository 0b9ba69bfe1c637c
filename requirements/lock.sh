#!/usr/bin/env bash
# Regenerate the hashed locks of the services environment (Python 3.11) from PyPI:
#   requirements/services.lock        every service's dependencies (requirements/services.txt)
#   requirements/images/SERVICE.lock  what one service image installs (services/SERVICE/requirements.txt),
#                                      resolved within services.lock so every image agrees with it
# Images install their lock with pip --require-hashes (tests/deploy/test_locks.py checks they match).
# Needs uv (pip install uv).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
common=(--python-version 3.11 --python-platform x86_64-unknown-linux-gnu --generate-hashes --index-url https://pypi.org/simple --quiet)
"$uv" pip compile requirements/services.txt "${common[@]}" --custom-compile-command "requirements/lock.sh" -o requirements/services.lock
mkdir -p requirements/images
for req in services/*/requirements.txt; do
  service="$(basename "$(dirname "$req")")"
  "$uv" pip compile "$req" -c requirements/services.lock "${common[@]}" --custom-compile-command "requirements/lock.sh" \
    -o "requirements/images/$service.lock"
done
