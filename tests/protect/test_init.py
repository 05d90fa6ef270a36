"""The public face of ``privstats.protect`` is what ``__all__`` says, and nothing raw."""

from __future__ import annotations

import dataclasses
import types

import privstats.protect as protect_module


def test_public_names_are_exactly_all():
    public = {
        name
        for name, value in vars(protect_module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - {"annotations"} == set(protect_module.__all__)
    for name in protect_module.__all__:
        assert hasattr(protect_module, name)


def test_a_protected_table_holds_no_unprotected_values():
    fields = {f.name for f in dataclasses.fields(protect_module.ProtectedTable)}
    assert fields == {"dims", "shown", "status", "record", "audit"}
