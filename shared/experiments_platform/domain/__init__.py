"""Domain model: datasets, feature and model configs, experiments and their status machine."""
