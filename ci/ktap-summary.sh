#!/usr/bin/env bash
# Turns one KTAP file of mmcheck (`mmcheck run --format ktap`, or `mmcheck report`'s
# ktap/<env>.ktap) into a short Markdown summary: the totals, then each failing case with the
# reason the KTAP diagnostics give (the first 100; the KTAP and JUnit artifacts have them all).
# The GitHub workflow (ci/github-workflow.yml) appends it to $GITHUB_STEP_SUMMARY.
#   ci/ktap-summary.sh FILE.ktap [TITLE]
set -euo pipefail
file=$1
title=${2:-$(basename "$file" .ktap)}
echo "### mmcheck: $title"
echo
totals=$(grep '^# Totals:' "$file" | sed 's/^# Totals: //')
echo "${totals:-no totals line: the run did not finish}"
echo
awk -v limit=100 '
  # The diagnostics above a "not ok" line: "# <case>: <kind>", then the reason.
  /^# [^ ]+: / && !header { header = $0; reason = ""; next }
  /^# / && header && reason == "" { reason = substr($0, 3); next }
  /^not ok / {
    failed++
    if (failed <= limit) {
      if (failed == 1) { print "| failing case | why |"; print "|---|---|" }
      name = $0; sub(/^not ok [0-9]+ /, "", name)
      kind = header; sub(/^# [^ ]+: /, "", kind)
      why = reason != "" ? reason : kind
      gsub(/\|/, "\\|", why)
      printf "| `%s` | %s |\n", name, why
    }
    header = ""; reason = ""; next
  }
  /^ok / { header = ""; reason = "" }
  END {
    if (failed > limit) printf "\n... and %d more failing cases (see the KTAP and JUnit artifacts)\n", failed - limit
    if (failed == 0) print "No case failed."
  }' "$file"
