"""Adapters: one GCP and one local implementation per port (see ``experiments_platform.ports``).

``experiments_platform.bootstrap`` picks them from configuration. Importing this package imports
no cloud library; each adapter module imports its client library itself and builds clients only
when it is constructed. Helpers that several adapters share live in ``_shared``.
"""
