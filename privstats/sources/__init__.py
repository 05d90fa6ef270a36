"""Input formats: one module per kind of source."""
