"""The compiled kernels of ingest: C extensions built by ``pip install`` (gcc and the Python
headers; nothing else). Everything else about the package is in ``pyproject.toml``."""

from setuptools import Extension, setup

# -O3 without -march: the build must run on any x86-64 or arm64 machine it is copied to.
FLAGS = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"]

setup(
    ext_modules=[
        Extension(name, [name.replace(".", "/") + ".c"], extra_compile_args=FLAGS)
        for name in ("privstats.sources._scan", "privstats.anonymise._kernels")
    ]
)
