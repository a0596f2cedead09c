# SPDX-License-Identifier: GPL-2.0
# Runs the kernel's own KTAP parser (tools/testing/kunit/ from Debian's linux-source package,
# cached by tests/support/kunit-parser.sh; its directory is argv[2])
# over a file and prints the parsed tree as JSON: what kunit.py would make of it.
# Usage: python3 parse_ktap.py FILE KUNIT_DIR
import json
import os
import sys

sys.path.insert(0, sys.argv[2])
import kunit_printer  # noqa: E402
kunit_printer.stdout._output = sys.stderr  # the parser's own progress output, out of the way
kunit_printer.stdout._use_color = False
import kunit_parser  # noqa: E402


def tree(t):
    return {
        'name': t.name,
        'status': t.status.name,
        'errors': t.counts.errors,
        'counts': {'passed': t.counts.passed, 'failed': t.counts.failed, 'crashed': t.counts.crashed,
                   'skipped': t.counts.skipped, 'errors': t.counts.errors},
        'expected_count': t.expected_count,
        'log': t.log,
        'subtests': [tree(s) for s in t.subtests],
    }


with open(sys.argv[1], encoding='utf-8') as f:
    result = kunit_parser.parse_run_tests(f.read().splitlines())
json.dump(tree(result), sys.stdout)
