"""Blueprints per area; each only translates HTTP into service-layer calls and back."""
