"""The leak scanner and self-containment check of the reviewer's gate.

``scan_path(path, canaries)`` returns every finding in a file or folder: identifying data
(addresses, e-mails, phones, Polish identifiers, IBANs, URLs with query strings, user agents,
client host names, pseudonyms, tracebacks, canaries), and anything that would load or run
(scripts, references outside the file). A finding never shows the found value in full.
"""

from __future__ import annotations

from privstats.leaks.canaries import CanarySet
from privstats.leaks.findings import Category, Finding, Kind, redact
from privstats.leaks.scan import LeakScanner, scan_path

__all__ = ["CanarySet", "Category", "Finding", "Kind", "LeakScanner", "redact", "scan_path"]
