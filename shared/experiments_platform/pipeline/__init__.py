"""The TFX quick-test pipeline, its trainer and its runners (pipeline environment only).

TensorFlow and TFX are imported only inside this subpackage. Importing any of its modules runs
this file first, which sets the one switch TensorFlow Recommenders needs before anything touches
``tf.keras``: Keras 2 (``tf_keras``) instead of Keras 3. ``recall`` is pure NumPy and may be
imported anywhere.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
