"""Which store a report was made from: its manifest's input catalog ids against the store's.

Recomputing a report's tables from another store compares it with other people's numbers: every
cell would look altered. A report whose inputs the store does not hold gets one finding that
says so, and is not recomputed from that store.
"""

from __future__ import annotations

from privstats.gate.findings import Check, GateFinding, note
from privstats.gate.published import MANIFEST, ReportFolder
from privstats.store import Store


def other_store(report: ReportFolder, store: Store) -> GateFinding | None:
    """A finding when ``report`` was not made from ``store`` (or cannot be told); else None."""
    ids = report.manifest.input_catalog_ids
    file = report.display(MANIFEST)
    if not ids:
        return note(file, Check.RECOMPUTE, "no-inputs",
                    "the manifest names no input: which store the report was made from "
                    "cannot be told")  # fmt: skip
    held = {entry.get("id") for entry in store.catalog().inputs}
    missing = sum(1 for input_id in ids if input_id not in held)
    if not missing:
        return None
    return GateFinding(file, "/input_catalog_ids", Check.RECOMPUTE, "other-store",
                       f"this report was not made from this store: {missing} of its {len(ids)} "
                       "inputs are not in it; its tables were not recomputed")  # fmt: skip
