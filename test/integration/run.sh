#!/bin/bash
# run.sh BUILD_DIR - the integration tier.
echo "integration: nothing to run yet (comes with its issue)"
echo "integration: 0 passed, 0 failed, 0 skipped"
