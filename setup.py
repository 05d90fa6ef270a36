"""The compiled kernels of ingest: C extensions built by ``pip install`` (gcc, the Python
headers and, for ``_kernels``, OpenSSL's libcrypto with its headers: libssl-dev on Debian).
Everything else about the package is in ``pyproject.toml``."""

from setuptools import Extension, setup

# -O3 without -march: the build must run on any x86-64 or arm64 machine it is copied to.
FLAGS = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
# Visitor pseudonyms are HMAC-SHA-256: OpenSSL's, as Python's hmac has it, not a copy of ours.
LIBRARIES = {"privstats.anonymise._kernels": ["crypto"]}

setup(
    ext_modules=[
        Extension(
            name,
            [name.replace(".", "/") + ".c"],
            extra_compile_args=FLAGS,
            libraries=LIBRARIES.get(name, []),
        )
        for name in ("privstats.sources._scan", "privstats.anonymise._kernels")
    ]
)
