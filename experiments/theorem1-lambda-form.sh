#!/usr/bin/env bash
# Which form of Lambda (printed or companion) runs the SGDC recursion.
set -euo pipefail
cgtheory verify --only theorem1-lambda-form --out runs/theorem1-lambda-form
