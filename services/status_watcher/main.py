"""Entry point of the status_watcher service (Cloud Run); routes from ``experiments_platform.events.topology``.

``gunicorn main:app`` serves the Flask app; ``functions-framework --target=status_watcher`` serves the same
routes through the HTTP function. No cloud client is created at import time.
"""

from __future__ import annotations

import functions_framework
from experiments_platform.web.push import as_function, create_service

app = create_service("status_watcher")
status_watcher = functions_framework.http(as_function(app))
