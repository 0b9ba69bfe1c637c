"""The TFX quick-test pipeline, its trainer and its runners (pipeline environment only).

TensorFlow and TFX are imported only inside this subpackage. ``recall`` and ``protocol`` are
pure NumPy and may be imported anywhere.
"""
