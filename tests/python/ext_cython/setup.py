"""Builds bt_cython_ext: the cython_ext fixture of tests/python/conftest.py runs
`python setup.py build_ext --inplace` in a copy of this directory.

`cimport boundarytrace` finds the package's __init__.pxd along sys.path (the
installed package); BT_INCLUDE_DIR and BT_LIBRARY_DIR name
boundarytrace.get_include() and boundarytrace.get_library_dir(): the C
compiler's headers (boundarytrace/bt.h) and the package's libboundarytrace,
found at run time through the rpath (and, since the tests import
boundarytrace first, already loaded).
"""
import os

from Cython.Build import cythonize
from setuptools import Extension, setup

inc = os.environ["BT_INCLUDE_DIR"]
lib = os.environ["BT_LIBRARY_DIR"]

setup(
    name="bt_cython_ext",
    ext_modules=cythonize(
        [
            Extension(
                "bt_cython_ext",
                ["bt_cython_ext.pyx"],
                include_dirs=[inc],
                library_dirs=[lib],
                runtime_library_dirs=[lib],
                libraries=["boundarytrace"],
            )
        ],
        compiler_directives={"language_level": 3},
    ),
)
