import privstats


def test_the_public_names_are_exactly_all() -> None:
    public = {name for name in dir(privstats) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(privstats, name)).__name__ == "module"}
    assert public - modules == set(privstats.__all__) - {"__version__"}
