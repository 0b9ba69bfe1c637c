"""Datasets for the warehouse: MovieLens 100k, a synthetic B2B generator, and user-registered tables."""
