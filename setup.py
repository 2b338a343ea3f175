"""Only here to hand cffi's builder to setuptools; metadata is in pyproject.toml."""
from setuptools import setup

setup(cffi_modules=["runsc_py/_build_interpose.py:ffibuilder"])
