"""Experiment pipelines around :mod:`scdv`: dataset loaders, benchmarks and reports.

This package is not installed with the library; it is run from a checkout.
"""
