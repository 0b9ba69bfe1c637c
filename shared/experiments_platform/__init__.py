"""Shared library of the two-tower quick-test experiments platform."""
