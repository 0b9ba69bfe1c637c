"""The TFX quick-test pipeline, its trainer and its runners (pipeline environment only).

TensorFlow and TFX are imported only inside this subpackage. Importing any of its modules runs
this file first, which sets the one switch TensorFlow Recommenders needs before anything touches
``tf.keras``: Keras 2 (``tf_keras``) instead of Keras 3. ``recall`` is pure NumPy and may be
imported anywhere. In the pipeline image (``PLATFORM_COMPONENT_LOGS=json``) it also sends the platform's
records out as JSON lines with their fields (``jsonlog.own_records_as_json``: a Vertex AI task's absl
handler would drop them).
"""

import os

from experiments_platform.jsonlog import COMPONENT_LOGS, own_records_as_json

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

if os.environ.get(COMPONENT_LOGS) == "json":
    own_records_as_json("pipeline")
