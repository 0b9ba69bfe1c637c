"""Entry point of the submitter service (Cloud Run); routes from ``experiments_platform.events.topology``.

``gunicorn main:app`` serves the Flask app; ``functions-framework --target=submitter`` serves the same
routes through the HTTP function. No cloud client is created at import time.
"""

from __future__ import annotations

import functions_framework
from experiments_platform.web.push import as_function, create_service

app = create_service("submitter")
submitter = functions_framework.http(as_function(app))
