#!/bin/bash
# format-check.sh - every C file matches .clang-format.
set -u
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null); do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "format: $f differs from .clang-format (run: clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
echo "format-check: $bad file(s) need formatting"
[ "$bad" -eq 0 ]
