"""Ports: the small interfaces behind which every external system sits.

Each port has a GCP adapter and a local adapter in ``experiments_platform.adapters``;
``experiments_platform.bootstrap`` picks one per port from configuration at start-up.
"""
