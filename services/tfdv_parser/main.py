"""Entry point of the tfdv_parser service (Cloud Run): ``gunicorn main:app``, or the HTTP function
``functions-framework --target=tfdv_parser``. The app and its routes live in ``experiments_platform.web``.
"""

from __future__ import annotations

import functions_framework
from experiments_platform.web.app import as_function, create_service_app

app = create_service_app("tfdv_parser")
tfdv_parser = functions_framework.http(as_function(app))
