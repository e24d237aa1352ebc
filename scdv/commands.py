"""The work behind the ``scdv`` command, as functions to call from Python.

``scdv vectorize corpus/ -o vectors.npz --save-model model.scdv`` is::

    from scdv import SCDV
    from scdv.commands import read_documents, vectorize, write_outputs

    texts, ids = read_documents(["corpus/"])
    X, model = vectorize(SCDV(random_state=0), texts, fit=True)
    write_outputs(X, "vectors.npz", "npz", ids, model=model,
                  model_path="model.scdv")

With ``--model model.scdv`` the model comes from :func:`load_model` and
``vectorize(model, texts)`` only transforms; with ``--scheduler ADDRESS``
the work runs on ``client=connect(ADDRESS)``. The output formats are the
registry :data:`scdv._io.OUTPUT_FORMATS`. :func:`read_ids` reads the ids
back, checked against the vectors file.

These functions raise the library's exceptions; the command adds the checks
it makes before anything expensive, and turns the exceptions into one-line
messages that name its options.
"""

from __future__ import annotations

import os

from sklearn.utils._param_validation import validate_parameter_constraints

from ._atomic import StagedOutputs, replacing
from ._io import default_format, read_documents, read_ids, stage_vectors
from .composite import TRANSFORM_PARAMS, load

__all__ = [
    "TRANSFORM_PARAMETERS",
    "connect",
    "load_model",
    "n_features",
    "read_documents",
    "read_ids",
    "save_model",
    "vectorize",
    "write_outputs",
]

#: The parameters of a fitted model that may change without refitting it
#: (the estimator's own list: see :data:`scdv.composite.TRANSFORM_PARAMS`).
TRANSFORM_PARAMETERS = TRANSFORM_PARAMS
#: Documents per Dask partition, roughly, and the most partitions made.
_DOCS_PER_PARTITION, _MAX_PARTITIONS = 500, 256


def load_model(path, **params):
    """Load a saved model that vectorises raw text.

    Parameters
    ----------
    path : str or path-like
        A file written by :meth:`scdv.SCDV.save`.
    **params
        New values of :data:`TRANSFORM_PARAMETERS` (``batch_size``,
        ``n_jobs``, ``verbose``, ``sublinear_tf``, ``power``); the others
        were fixed by the fit.

    Returns
    -------
    SCDV
        The fitted model, with ``params`` set.

    Raises
    ------
    ModelFormatError
        ``path`` is not a model :func:`scdv.load` can read.
    ValueError
        The model was fitted on token lists (``tokenizer=None``), so it has
        no way to split raw text into words.
    sklearn.utils._param_validation.InvalidParameterError
        A value of ``params`` out of range (``n_jobs=0``), found here rather
        than after the documents are read.
    TypeError
        A parameter that only acts when fitting.
    """
    fit_only = sorted(set(params) - set(TRANSFORM_PARAMETERS))
    if fit_only:
        raise TypeError(f"{', '.join(fit_only)} only apply when fitting; a loaded model "
                        f"takes {', '.join(TRANSFORM_PARAMETERS)}.")
    model = load(path)
    if model.tokenizer is None:
        raise ValueError(f"The model {os.fspath(path)!r} was fitted on token lists "
                         "(tokenizer=None), so it cannot read raw text.")
    model.set_params(**params)
    # What transform would refuse, refused now: before any document is read.
    constraints = type(model)._parameter_constraints
    validate_parameter_constraints({name: constraints[name] for name in params},
                                   {name: getattr(model, name) for name in params},
                                   caller_name=type(model).__name__)
    return model


def n_features(model):
    """The number of columns of ``model``'s vectors, fitted or not.

    Parameters
    ----------
    model : SCDV

    Returns
    -------
    int
        Clusters times word-vector dimension: from the fitted arrays, or
        before fitting ``n_components * vector_size`` (pretrained
        ``word_vectors`` of another dimension are not opened to check).
    """
    if hasattr(model, "word_cluster_proba_"):
        return model.word_cluster_proba_.shape[1] * model.word_vectors_.shape[1]
    return model.n_components * model.vector_size


def _default_client():
    from distributed import default_client

    try:
        return default_client()
    except ValueError:  # no client in this process
        return None


def connect(address, *, timeout="10s"):
    """A Dask ``distributed`` client of the scheduler at ``address``.

    It becomes the process's default client, as ``Client(address)`` does,
    until it is closed (``with connect(address) as client:``). A client
    that fails to connect is closed here, so that it is not left behind as
    the default for later Dask work in the process to wait on.

    Parameters
    ----------
    address : str
        E.g. ``"tcp://10.0.0.5:8786"``.
    timeout : str or float, default="10s"
        How long to try to connect.

    Returns
    -------
    distributed.Client

    Raises
    ------
    ImportError
        Dask is not installed (``pip install 'scdv[dask]'``).
    ValueError
        ``address`` is malformed.
    OSError
        The scheduler cannot be reached in time (``TimeoutError`` included).
    """
    # Imported before connecting, so that a missing piece is an ImportError
    # here rather than after a connection has been made.
    import dask.bag  # noqa: F401
    from distributed import Client

    from . import dask as _scdv_dask  # noqa: F401

    before = _default_client()
    try:
        return Client(address, timeout=timeout)
    except Exception:
        # The half-made client registered itself as the default (and as
        # dask's scheduler) before it failed; a user's earlier default stays.
        failed = _default_client()
        if failed is not None and failed is not before and failed.status != "running":
            failed.close()
        raise


def _on_dask(client, model, texts, fit):
    import dask
    import dask.bag as db

    from . import dask as scdv_dask

    npartitions = max(1, min(_MAX_PARTITIONS, len(texts) // _DOCS_PER_PARTITION))
    # as_current: scdv.dask ships the model through default_client(), on
    # this thread. The scheduler setting is global, so word2vec's reader
    # threads compute on this client too, even if another is the default.
    with client.as_current(), dask.config.set(scheduler=client):
        bag = db.from_sequence(texts, npartitions=npartitions)
        if fit:
            model = scdv_dask.fit(bag, **model.get_params())
        X = scdv_dask.transform(model, bag).compute()
    return X.tocsr(), model


def vectorize(model, texts, *, fit=False, client=None):
    """The SCDV vectors of ``texts``, fitting ``model`` on them first if asked.

    Parameters
    ----------
    model : SCDV
        Fitted, or to fit (``fit=True``).
    texts : list of str
        The documents, e.g. from :func:`read_documents`.
    fit : bool, default=False
        Fit on ``texts`` first (:meth:`SCDV.fit_transform`, or
        :func:`scdv.dask.fit` with a client).
    client : distributed.Client, optional
        Fit and vectorise on this Dask cluster (see :func:`connect`).

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (len(texts), n_features)
    model : SCDV
        The fitted model: ``model`` itself, except after a fit on a client,
        which makes a new one.

    Raises
    ------
    ValueError
        When fitting: no vocabulary, or too few words for the clusters.
    """
    if client is not None:
        return _on_dask(client, model, texts, fit)
    X = model.fit_transform(texts) if fit else model.transform(texts)
    return X, model


def save_model(model, path, *, force=False):
    """Save a fitted model to ``path``, all-or-nothing.

    Parameters
    ----------
    model : SCDV
    path : str or path-like
    force : bool, default=False
        Replace an existing regular file; otherwise :class:`FileExistsError`.
        A target that is not a regular file is always refused
        (:func:`scdv._atomic.check_target`).
    """
    with replacing(path, force=force) as tmp:
        model.save(tmp)


def write_outputs(X, path, fmt=None, ids=None, *, model=None, model_path=None,
                  force=False):
    """Write document vectors, their ids and optionally the model, all-or-nothing.

    Either every file appears, or (after an error or an interrupt) none does
    and existing files are untouched.

    Parameters
    ----------
    X : sparse matrix or array of shape (n_docs, n_features)
    path : str or path-like
        The vectors file, or ``"-"`` for standard output.
    fmt : str, optional
        A name in :data:`scdv._io.OUTPUT_FORMATS`: ``"npz"``
        (:func:`scipy.sparse.save_npz`), ``"svmlight"`` (one line per row,
        label 0, zero-based features) or ``"npy"`` (a dense float32 array).
        Default: :func:`scdv._io.default_format` of ``path``.
    ids : sequence of str, optional
        Document ids, one per row, written to the manifest
        ``path + ".ids.jsonl"`` (JSON lines: a header with the vectors file's
        name, rows and SHA-256, then one id per line; see :func:`read_ids`),
        renamed into place last; not written for ``"-"``.
    model : SCDV, optional
        Saved to ``model_path`` with the vectors.
    model_path : str or path-like, optional
    force : bool, default=False
        Replace existing regular files; otherwise :class:`FileExistsError`.
        Targets that are not regular files are always refused.

    Returns
    -------
    str or None
        The ids manifest's path, if one was written.

    Raises
    ------
    ValueError
        An unknown format, ids that do not match the rows, a format that
        cannot go to standard output, or ``model_path`` without ``model``.
    """
    if model_path is not None and model is None:
        raise ValueError("model_path needs the model to save there.")
    fmt = default_format(path) if fmt is None else fmt
    with StagedOutputs(force=force) as staged:
        if model_path is not None:
            model.save(staged.reserve(model_path))
        return stage_vectors(staged, X, path, fmt, ids)
