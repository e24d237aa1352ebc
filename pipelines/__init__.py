"""Experiment pipelines around :mod:`scdv`: dataset loaders, classification runs and reports.

This package is not installed with the library; it is run from a checkout.

Modules
-------
datasets
    Loaders for 20 Newsgroups, livedoor and Reuters-21578.
tokens
    Tokenise a corpus once (two processes) and cache the token lists on disk.
features
    Features per method (SCDV, TF-IDF, averaged word2vec, SCDV+TF-IDF), with
    the fitted SCDV cached on disk.
models
    Linear classifiers, the grid search over C, the stacking ensemble.
fewlabels
    Few labelled documents: labelled subsets, the C rule, scikit-learn's
    semi-supervised classifiers (``--labels-per-class``).
evaluate
    Metrics (accuracy, macro F1; Precision@1, nDCG@1, coverage, LRAP, F1)
    and the most-confused class pairs.
plots
    PNG figures: confusion matrix, per-label F1, document map, per-fold scores.
classify
    ``python -m pipelines.classify`` and :func:`pipelines.classify.run`.
"""
