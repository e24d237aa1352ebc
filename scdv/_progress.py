"""Progress bars that stay out of the way.

A bar is drawn on stderr only when ``verbose > 0`` and stderr is a terminal
(tqdm's ``disable=None``), so logs and pipes stay clean.
"""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(iterable=None, *, total=None, desc=None, unit="it", verbose=0):
    """A tqdm bar, silent unless ``verbose`` and stderr is a terminal."""
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=None if verbose else True,
        leave=False,
        dynamic_ncols=True,
    )
