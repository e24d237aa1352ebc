"""What every benchmark needs: the machine, the versions, results on disk,
and a cached 20 Newsgroups model with the paper's settings."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from scdv._atomic import replacing

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACHE = Path(os.environ.get("SCDV_BENCH_CACHE", HERE / ".cache"))

logger = logging.getLogger("benchmarks")


def machine():
    """CPU model, core count, Python and library versions."""
    import gensim
    import numba
    import scipy
    import sklearn

    import scdv

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            "scdv": scdv.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "gensim": gensim.__version__,
            "numba": numba.__version__,
        },
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def write_result(name, payload):
    """Write ``results/NAME.json`` with the machine facts added; return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "machine": machine(), **payload}
    with replacing(path) as tmp:  # each run writes its own temporary, side by side
        Path(tmp).write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


@contextmanager
def timer(store, key):
    """Add the wall time of the block to ``store[key]`` (seconds)."""
    start = time.perf_counter()
    yield
    store[key] = store.get(key, 0.0) + time.perf_counter() - start


def cached_model(train_texts, params, tag):
    """Fit ``SCDV(**params)`` on ``train_texts``, or load it from the cache.

    The cache key covers the parameters and the text, so a change of either
    refits. Fitting the paper's model on 20 Newsgroups takes minutes.
    """
    import scdv

    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for text in train_texts:
        digest.update(text.encode("utf-8", "replace"))
    path = CACHE / f"{tag}-{digest.hexdigest()[:16]}.scdv"
    if path.exists():
        logger.info("loading cached model %s", path)
        return scdv.load(path), None
    CACHE.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model = scdv.SCDV(**params).fit(train_texts)
    seconds = time.perf_counter() - start
    model.save(path)
    return model, seconds


def status_kb(field):
    """A field of /proc/self/status in kB (VmRSS, VmHWM), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False
