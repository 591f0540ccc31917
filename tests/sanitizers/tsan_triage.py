#!/usr/bin/env python3
"""Sorts ThreadSanitizer reports (scripts/sanitize.sh --thread) into hand-offs through Qt and the rest.

Debian's Qt is not built with -fsanitize=thread: the mutexes and atomics inside libQt6Core (a
queued signal's event, a QtConcurrent task, a QFuture's result) are invisible to TSan, so a value
built on one thread and read on another after such a hand-off is reported as a race. A report is
counted as a hand-off when one of its two accesses is the copy of a queued signal's argument
(QMetaType::construct), runs inside QtConcurrent / a QFuture's result store, or is a
QThreadPool task (a std::function on a pooled thread) reading its own captures. Every other
report is listed in full and fails the run: it can be a race of ours.
  tsan_triage.py LOG...
"""
import re
import sys

HANDOFF = re.compile(r"QMetaType::construct|QtConcurrent::|QFutureInterface|ResultStoreBase")
POOL_TASK = re.compile(r"std::_Function_handler<void \(\), [^\n]*_M_invoke[\s\S]*'Thread \(pooled\)'")


def handoff(report):
    return HANDOFF.search(report) or POOL_TASK.search(report)


def reports(text):
    return re.findall(r"WARNING: ThreadSanitizer:.*?\nSUMMARY: ThreadSanitizer:[^\n]*", text, re.S)


def main(paths):
    total, others = 0, []
    for path in paths:
        with open(path, errors="replace") as log:
            found = reports(log.read())
        total += len(found)
        others += [(path, r) for r in found if not handoff(r)]
    for path, report in others:
        print(f"--- {path}\n{report}\n")
    print(f"tsan_triage: {total} reports, {total - len(others)} of them hand-offs through Qt's "
          f"uninstrumented synchronization, {len(others)} other")
    return 1 if others else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
