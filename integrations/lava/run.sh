#!/bin/sh
# The steps of integrations/lava/s2conform.yaml, in a file so that they can be read and run by hand:
#   run.sh RUNS SEED FAMILIES REPORT_DIR [UPLOAD_URL]
# Runs the suite on this machine (--target native), reports every property with lava-test-case
# (family.property: pass | fail | skip | unknown for an error), and keeps the reports (see the yaml).
runs=$1 seed=$2 families=$3 report=$4 upload=$5
set -- --target native --runs "$runs" --seed "$seed" --report "$report"
[ -n "$families" ] && set -- "$@" --family "$families"
echo "s2conform: npx s2conform run $*"
npx s2conform run "$@"
rc=$?
echo "s2conform: exit $rc (0 conforms, 1 deviations, 2 errors, 4 nothing could run)"
node integrations/lava/cases.mjs "$report/summary.json"
if [ -d "$report" ]; then
  echo "s2conform-artefacts-begin"
  tar czf - -C "$report" . | base64
  echo "s2conform-artefacts-end"
  if [ -n "$upload" ]; then
    tar czf /tmp/s2conform-report.tar.gz -C "$report" . && curl -sfT /tmp/s2conform-report.tar.gz "$upload" \
      && lava-test-reference s2conform-reports --result pass --reference "$upload"
  fi
fi
# the verdicts are the test cases: the step itself fails only when nothing could run
[ "$rc" -ne 4 ] && [ "$rc" -ne 2 ] || exit "$rc"
