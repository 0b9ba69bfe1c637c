"""Serve one top-k request from a full training's exported model with TensorFlow alone (decision 072).

    python scripts/serve_request.py MODEL_DIR                      # the buyer of assets.extra/serving_check.json
    python scripts/serve_request.py MODEL_DIR user_id=42 age=24 gender=M occupation=writer timestamp=881250949

``MODEL_DIR`` is a pushed model (``model.json``'s ``pushed_model_uri``, a local folder or gs://). Features
are the raw buyer columns the signature names (``model.json``'s ``inputs``); values are converted to the
signature's dtypes. Imports nothing but TensorFlow and the standard library. Prints one JSON object:
the ids and scores of the top k, and the request's latency.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    import tensorflow as tf

    model_dir, pairs = argv[0].rstrip("/"), argv[1:]
    serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    _, inputs = serve.structured_input_signature
    if pairs:
        given = dict(pair.split("=", 1) for pair in pairs)
    else:
        with tf.io.gfile.GFile(f"{model_dir}/assets.extra/serving_check.json") as check:
            given = {name: str(value) for name, value in json.load(check)["inputs"].items()}
    missing = sorted(set(inputs) - set(given))
    unknown = sorted(set(given) - set(inputs))
    if missing or unknown:
        print(f"features: missing {missing}, unknown {unknown}; the signature takes {sorted(inputs)}", file=sys.stderr)
        return 2
    request = {}
    for name, spec in inputs.items():
        value = given[name]
        request[name] = tf.constant([value if spec.dtype == tf.string else spec.dtype.as_numpy_dtype(float(value))
                                     if spec.dtype.is_floating else int(value)], dtype=spec.dtype)
    started = time.perf_counter()
    answer = serve(**request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(json.dumps({"request": given, "ids": [i.decode() for i in answer["ids"].numpy()[0].tolist()],
                      "scores": [round(float(s), 5) for s in answer["scores"].numpy()[0]],
                      "latency_ms": round(elapsed_ms, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
