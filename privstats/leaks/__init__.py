"""The leak scanner and self-containment check of the reviewer's gate.

``scan_path(path, canaries)`` returns every finding in a file or folder: identifying data
(addresses, e-mails, phones, Polish identifiers, IBANs, URLs with query strings, user agents,
client host names, pseudonyms, tracebacks, canaries), and anything that would load or run
(scripts, references outside the file). A finding never shows the found value in full.

The gate calls it so::

    canaries = CanarySet.load(path_of_canaries, secret.derive(CANARY_PURPOSE))
    findings = scan_path(report_folder, canaries)
    for finding in findings:
        print(finding)
    print(summarise(findings))  # and fails when there is any finding
"""

from __future__ import annotations

from privstats.leaks.canaries import CANARY_PURPOSE, CanarySet
from privstats.leaks.findings import Category, Finding, Kind, redact, summarise
from privstats.leaks.scan import LeakScanner, scan_path

__all__ = [
    "CANARY_PURPOSE",
    "CanarySet",
    "Category",
    "Finding",
    "Kind",
    "LeakScanner",
    "redact",
    "scan_path",
    "summarise",
]
