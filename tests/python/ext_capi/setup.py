"""Builds bt_capi_ext: the capi_ext fixture of tests/python/conftest.py runs
`python setup.py build_ext --inplace` in a copy of this directory.

BT_INCLUDE_DIR and BT_LIBRARY_DIR name boundarytrace.get_include() and
boundarytrace.get_library_dir(): the module compiles against the package's
headers (boundarytrace/python.h ships there) and links the package's
libboundarytrace, found at run time through the rpath (and, since the tests
import boundarytrace first, already loaded).
"""
import os

from setuptools import Extension, setup

inc = os.environ["BT_INCLUDE_DIR"]
lib = os.environ["BT_LIBRARY_DIR"]

setup(
    name="bt_capi_ext",
    ext_modules=[
        Extension(
            "bt_capi_ext",
            ["bt_capi_ext.c"],
            include_dirs=[inc],
            library_dirs=[lib],
            runtime_library_dirs=[lib],
            libraries=["boundarytrace"],
            extra_compile_args=["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers"],
        )
    ],
)
