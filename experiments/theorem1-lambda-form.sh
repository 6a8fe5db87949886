#!/usr/bin/env bash
# The form of Lambda (printed or companion) that runs the SGDC recursion.
set -euo pipefail
cgtheory verify --only theorem1-lambda-form --out runs/theorem1-lambda-form
