"""Builds the optional native lane (arledger/_bulk.c); everything else is in
pyproject.toml. Without a C compiler the build goes on without it and arledger
runs on its pure-Python path (README: "The native lane")."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "arledger._bulk",
            ["arledger/_bulk.c"],
            optional=True,
            extra_compile_args=[
                "-O2",
                "-Wall",
                "-Wextra",
                "-Wno-unused-parameter",
                "-Wno-missing-field-initializers",
            ],
        )
    ]
)
