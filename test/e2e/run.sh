#!/bin/bash
# run.sh BUILD_DIR - the e2e tier.
echo "e2e: nothing to run yet (comes with its issue)"
echo "e2e: 0 passed, 0 failed, 0 skipped"
