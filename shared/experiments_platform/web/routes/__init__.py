"""Route modules of the event-driven services, each with ``register(app, service)`` (see ``web.app.ROUTES``)."""
