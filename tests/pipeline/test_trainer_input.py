"""The trainers' input (pipeline/trainer_data.py): a whole-split shuffle each epoch in memory that does not
grow with a shuffle buffer of rows, every row once per epoch, reproducible from the seed."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from experiments_platform.pipeline.trainer_data import shuffled_batches

# One epoch of the training batches (shuffled_batches, as the trainers give fit) over ROWS rows of
# two id columns and a sampling probability; prints the peak resident set before and after.
ONE_EPOCH = """
import json, resource, sys
import numpy as np
from experiments_platform.pipeline.trainer_data import shuffled_batches

rows = int(sys.argv[1])
arrays = {'customer_id': np.arange(rows, dtype=np.int64) % 20000, 'product_id': np.arange(rows, dtype=np.int64) % 997,
          'sampling_probability': np.full(rows, 0.001, dtype=np.float32)}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
seen = 0
for batch in shuffled_batches(arrays, 1024, seed=7):
    seen += int(batch['customer_id'].shape[0])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({'seen': seen, 'grown_mib': (after - before) / 1024}))
"""


def test_an_epoch_over_a_million_rows_holds_no_buffer_of_rows(tmp_path):
    script = tmp_path / "one_epoch.py"
    script.write_text(ONE_EPOCH)
    done = subprocess.run([sys.executable, str(script), "1000000"], capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["seen"] == 1_000_000
    assert result["grown_mib"] < 120, f"one epoch grew the trainer by {result['grown_mib']:.0f} MiB"


def epochs(dataset, n):
    out = []
    iterator_epochs = [dataset] * n
    for one in iterator_epochs:
        out.append(np.concatenate([b["row"].numpy() for b in one]))
    return out


def test_every_row_once_per_epoch_in_a_new_order_each_epoch_reproducible_from_the_seed():
    arrays = {"row": np.arange(10_007, dtype=np.int64), "other": np.zeros(10_007, dtype=np.float32)}
    first, second = epochs(shuffled_batches(arrays, 512, seed=3), 2)
    assert sorted(first.tolist()) == list(range(10_007)) == sorted(second.tolist())
    assert not np.array_equal(first, second) and not np.array_equal(first, arrays["row"])
    again = epochs(shuffled_batches(arrays, 512, seed=3), 2)
    assert np.array_equal(again[0], first) and np.array_equal(again[1], second)
    other_seed = epochs(shuffled_batches(arrays, 512, seed=4), 1)[0]
    assert not np.array_equal(other_seed, first)
    batches = list(shuffled_batches(arrays, 512, seed=3))
    assert [len(b["row"]) for b in batches] == [512] * 19 + [279]


def test_without_a_seed_the_rows_come_in_order():
    arrays = {"row": np.arange(1000, dtype=np.int64)}
    assert np.array_equal(np.concatenate([b["row"].numpy() for b in shuffled_batches(arrays, 300)]), arrays["row"])
