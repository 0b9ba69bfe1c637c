"""Entry point of the artifact_reader service (Cloud Run): ``gunicorn main:app``, or the HTTP function
``functions-framework --target=artifact_reader``. The app and its routes live in ``experiments_platform.web``.
"""

from __future__ import annotations

import functions_framework
from experiments_platform.web.app import as_function, create_service_app

app = create_service_app("artifact_reader")
artifact_reader = functions_framework.http(as_function(app))
