"""Classifiers, their C grids, the grid search, and the stacking ensemble.

All of them work on fixed feature matrices (see :mod:`pipelines.features`):
the grid search refits only the linear model, never word2vec.
"""

from __future__ import annotations

import logging
import re
import warnings
from contextlib import contextmanager

import numpy as np
from joblib import parallel_config
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logsumexp, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import StackingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import label_ranking_average_precision_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from .features import ColumnSlice

__all__ = [
    "CLASSIFIERS",
    "C_GRIDS",
    "QUICK_C_GRIDS",
    "FitWarnings",
    "grid_search",
    "make_classifier",
    "make_inner_cv",
    "make_stacking",
    "quiet_fit_warnings",
]

logger = logging.getLogger(__name__)

CLASSIFIERS = ("linearsvc", "logreg")
#: C values searched by K-fold CV on the training data. Logistic regression
#: needs larger C than the hinge loss for the same fit on unit-norm rows.
#: LinearSVC's grid has half-decade steps: with whole decades every full run
#: chose 10 or 1, and on 20 Newsgroups CV preferred 3 to both.
C_GRIDS = {"linearsvc": (0.1, 0.3, 1.0, 3.0, 10.0), "logreg": (0.1, 1.0, 10.0, 100.0)}
QUICK_C_GRIDS = {"linearsvc": (0.1, 1.0, 10.0), "logreg": (1.0, 10.0, 100.0)}
#: Iteration caps, well above scikit-learn's defaults (1000 and 100): at the
#: large end of the C grid liblinear and lbfgs need more steps on sparse text.
SVC_MAX_ITER = 5000
LOGREG_MAX_ITER = 2000

# One-vs-rest warns for a label with no positive (or no negative) example in
# a training fold; for Reuters' rare labels this is expected in inner folds,
# and OneVsRestClassifier then predicts the constant, which is what we want.
_CONSTANT_LABEL = re.compile(r"Label .* is present in all training examples")


class FitWarnings:
    """Counts of the warnings :func:`quiet_fit_warnings` kept off the console."""

    def __init__(self):
        self.convergence = 0
        self.constant_label = 0

    def as_dict(self) -> dict:
        return {"convergence": self.convergence, "constant_label": self.constant_label}


@contextmanager
def quiet_fit_warnings(counter: FitWarnings | None = None):
    """Record, instead of printing, two expected warnings of the linear models.

    * ``ConvergenceWarning``: liblinear or lbfgs stopped at ``max_iter``.
      The caps are already raised; at the large end of the C grid the last
      digits of the objective rarely change the prediction, and grid search
      would otherwise print one warning per fold. They are counted, logged
      once and reported in the output, not hidden.
    * one-vs-rest's "Label ... is present in all training examples" for rare
      multi-label classes in an inner fold.

    Any other warning is re-emitted unchanged.
    """
    counter = counter if counter is not None else FitWarnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield counter
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            counter.convergence += 1
        elif issubclass(w.category, UserWarning) and _CONSTANT_LABEL.search(str(w.message)):
            counter.constant_label += 1
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if counter.convergence:
        logger.info("%d fits stopped at max_iter (ConvergenceWarning, counted in the output)",
                    counter.convergence)


def make_classifier(name: str = "linearsvc", *, C: float = 1.0, class_weight=None,
                    multilabel: bool = False, seed: int = 0):
    """A linear classifier, one-vs-rest wrapped for multi-label targets.

    Parameters
    ----------
    name : {"linearsvc", "logreg"}
        ``LinearSVC`` (squared hinge, L2) or ``LogisticRegression`` (lbfgs, L2).
    C : float, default=1.0
    class_weight : {None, "balanced"}
    multilabel : bool, default=False
        Wrap in :class:`~sklearn.multiclass.OneVsRestClassifier` (Reuters).
    seed : int, default=0

    Returns
    -------
    estimator
    """
    if name == "linearsvc":
        clf = LinearSVC(C=C, class_weight=class_weight, max_iter=SVC_MAX_ITER, random_state=seed)
    elif name == "logreg":
        clf = LogisticRegression(C=C, class_weight=class_weight, max_iter=LOGREG_MAX_ITER,
                                 random_state=seed)
    else:
        raise ValueError(f"unknown classifier {name!r}; valid: {', '.join(CLASSIFIERS)}")
    return OneVsRestClassifier(clf) if multilabel else clf


def c_param_name(multilabel: bool) -> str:
    """Name of the C parameter inside :func:`make_classifier`'s estimator."""
    return "estimator__C" if multilabel else "C"


def make_inner_cv(n_splits: int, multilabel: bool, seed: int):
    """Shuffled K-fold: stratified for single-label, plain for multi-label targets."""
    if multilabel:
        return KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)


def _lrap_scorer(estimator, X, y):
    return label_ranking_average_precision_score(y, decision_scores(estimator, X))


def selection_scoring(multilabel: bool):
    """Grid-search criterion: accuracy, or for multi-label label ranking average
    precision from decision scores (a smooth ranking metric that tracks
    Precision@1 but also rewards the rest of the ranking)."""
    return _lrap_scorer if multilabel else "accuracy"


def grid_search(X, y, *, classifier="linearsvc", c_grid=None, class_weight=None,
                n_splits=5, multilabel=False, seed=0, counter=None, n_jobs=1):
    """Choose C by K-fold CV on the training features, then refit on all of them.

    Parameters
    ----------
    X : matrix of shape (n_train, n_features)
    y : array of shape (n_train,) or indicator matrix (n_train, n_labels)
    classifier : {"linearsvc", "logreg"}
    c_grid : sequence of float or None
        Defaults to :data:`C_GRIDS` of the classifier.
    class_weight : {None, "balanced"}
    n_splits : int, default=5
    multilabel : bool, default=False
    seed : int, default=0
    counter : FitWarnings or None
        Collects the warnings of :func:`quiet_fit_warnings`.
    n_jobs : int or None, default=1
        Fits run at once, on threads: liblinear and lbfgs release the GIL, so
        the threads share ``X`` instead of copying it into worker processes.
        None uses every core. The scores do not depend on it.

    Returns
    -------
    search : GridSearchCV
        Fitted; ``best_estimator_`` is refitted on all of ``X``.
    summary : dict
        ``scoring``, ``best_C``, ``grid`` (mean and std CV score per C) and
        ``fold_scores`` (the chosen C's score on each inner fold).
    """
    c_grid = list(C_GRIDS[classifier] if c_grid is None else c_grid)
    name = c_param_name(multilabel)
    search = GridSearchCV(
        make_classifier(classifier, class_weight=class_weight, multilabel=multilabel, seed=seed),
        {name: c_grid},
        scoring=selection_scoring(multilabel),
        cv=make_inner_cv(n_splits, multilabel, seed),
        refit=True,
        n_jobs=n_jobs,
        error_score="raise",
    )
    with quiet_fit_warnings(counter), parallel_config(backend="threading"):
        search.fit(X, y)
    res = search.cv_results_
    best = search.best_index_
    summary = {
        "scoring": "lrap" if multilabel else "accuracy",
        "best_C": float(search.best_params_[name]),
        "grid": [{"C": float(c), "mean": float(m), "std": float(s)}
                 for c, m, s in zip(res[f"param_{name}"], res["mean_test_score"],
                                    res["std_test_score"])],
        "fold_scores": [float(res[f"split{i}_test_score"][best]) for i in range(n_splits)],
    }
    logger.info("grid search: best C=%g, CV %s %.4f +/- %.4f", summary["best_C"],
                summary["scoring"], res["mean_test_score"][best], res["std_test_score"][best])
    return search, summary


class ScoreBlend(ClassifierMixin, BaseEstimator):
    """Stacking's final estimator: one weight per base model, one bias per class.

    The input is what :class:`~sklearn.ensemble.StackingClassifier` passes
    on: the decision scores of M base models side by side, M blocks of L
    columns (L classes, or L labels for multi-label targets, or one column
    for two classes). The blended score of class c is

        z_c(x) = sum_m w_m s_{m,c}(x) + b_c,

    fitted by minimising the log-loss (softmax over classes; a sigmoid per
    column for two classes or multi-label targets) plus ``alpha * ||w||^2``.
    With M + L parameters it cannot overfit the out-of-fold scores the way a
    logistic regression on all M * L scores (M * L * L weights) does when
    training data are few, and it can still give a weak base model weight 0.

    Parameters
    ----------
    n_models : int, default=2
        Number of score blocks in the input.
    alpha : float, default=1e-3
        L2 penalty on the model weights (the biases are not penalised).
    """

    def __init__(self, n_models=2, alpha=1e-3):
        self.n_models = n_models
        self.alpha = alpha

    def _blocks(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] % self.n_models:
            raise ValueError(f"expected {self.n_models} equal blocks of scores; "
                             f"got {X.shape[1]} columns")
        return X.reshape(X.shape[0], self.n_models, -1)

    def fit(self, X, y):
        S = self._blocks(X)
        n, M, L = S.shape
        y = np.asarray(y)
        self.multilabel_ = y.ndim == 2
        if self.multilabel_:
            target = y.astype(np.float64)
        else:
            self.classes_ = np.unique(y)
            if len(self.classes_) > 2 and len(self.classes_) != L:
                raise ValueError(f"{len(self.classes_)} classes but {L} score columns")
            codes = np.searchsorted(self.classes_, y)
            target = (codes == 1).astype(np.float64)[:, None] if L == 1 else codes
        softmax_loss = not self.multilabel_ and L > 1

        def loss(theta):
            w, b = theta[:M], theta[M:]
            z = np.einsum("nml,m->nl", S, w) + b
            if softmax_loss:
                value = np.mean(logsumexp(z, axis=1) - z[np.arange(n), target])
                residual = softmax(z, axis=1)
                residual[np.arange(n), target] -= 1
            else:
                value = -np.mean(target * log_expit(z) + (1 - target) * log_expit(-z))
                residual = expit(z) - target
            residual /= n
            grad_w = np.einsum("nml,nl->m", S, residual) + 2 * self.alpha * w
            return value + self.alpha * w @ w, np.concatenate([grad_w, residual.sum(axis=0)])

        start = np.concatenate([np.ones(M), np.zeros(L)])
        result = minimize(loss, start, jac=True, method="L-BFGS-B")
        self.coef_, self.intercept_ = result.x[:M], result.x[M:]
        return self

    def decision_function(self, X):
        check_is_fitted(self, "coef_")
        z = np.einsum("nml,m->nl", self._blocks(X), self.coef_) + self.intercept_
        return z[:, 0] if z.shape[1] == 1 and not self.multilabel_ else z

    def predict_proba(self, X):
        z = self.decision_function(X)
        if self.multilabel_:
            return expit(z)
        if z.ndim == 1:
            return np.column_stack([expit(-z), expit(z)])
        return softmax(z, axis=1)

    def predict(self, X):
        z = self.decision_function(X)
        if self.multilabel_:
            return (z > 0).astype(int)
        if z.ndim == 1:
            return self.classes_[(z > 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]


def make_stacking(blocks: dict, base_C: dict, *, classifier="linearsvc", class_weight=None,
                  n_splits=5, multilabel=False, seed=0):
    """SCDV + TF-IDF stacking on one side-by-side feature matrix.

    Each base estimator is ``Pipeline([ColumnSlice(block), classifier])``, so
    it sees only its own feature block, and the stacking's internal
    cross-validation refits only linear models. The final estimator, a
    :class:`ScoreBlend` (one weight per base model, one bias per class),
    works on the base models' out-of-fold decision scores; with that few
    parameters it does not overfit them where training data are few.

    Parameters
    ----------
    blocks : dict
        ``{"scdv": (start, stop), "tfidf": (start, stop)}`` column ranges.
    base_C : dict
        C of each base classifier (chosen beforehand by :func:`grid_search`
        on its own block, on the training data).
    classifier, class_weight, n_splits, multilabel, seed
        As for :func:`grid_search`; ``class_weight`` reaches the base models,
        not the blend.

    Returns
    -------
    StackingClassifier
    """
    estimators = []
    for name in ("scdv", "tfidf"):
        start, stop = blocks[name]
        clf = make_classifier(classifier, C=base_C[name], class_weight=class_weight,
                              multilabel=multilabel, seed=seed)
        estimators.append((name, Pipeline([("columns", ColumnSlice(start, stop)),
                                           ("clf", clf)])))
    return StackingClassifier(
        estimators=estimators,
        final_estimator=ScoreBlend(n_models=len(estimators)),
        cv=make_inner_cv(n_splits, multilabel, seed),
        # Decision scores are what both linear models offer (LinearSVC has no
        # predict_proba), so both classifiers stack the same kind of input.
        stack_method="decision_function",
        n_jobs=1,
    )


def _never_seen_labels(estimator) -> list[int]:
    """Columns of a one-vs-rest model whose label had no positive training example."""
    # Only a one-vs-rest model, bare or ending a Pipeline, is looked into: a
    # stacking ends in a ScoreBlend, whose columns are not per-label models.
    if isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    if not isinstance(estimator, OneVsRestClassifier):
        return []
    dummy = np.zeros((1, 1))
    # Fitted linear models have coef_; OneVsRestClassifier stands in a
    # constant predictor for a label that is constant in the training data.
    return [i for i, est in enumerate(estimator.estimators_)
            if not hasattr(est, "coef_") and not np.any(est.predict(dummy))]


def decision_scores(estimator, X) -> np.ndarray:
    """(n, n_labels) decision scores, for ranking metrics.

    For a one-vs-rest model, a label never seen positive in training gets a
    constant score of 0 from scikit-learn, which is *above* the negative
    scores of real labels and would be ranked first. Such columns are moved
    below every other score so that ranking metrics (Precision@1, coverage,
    LRAP) rank them last, as a label the model knows nothing about should be.
    """
    scores = np.asarray(estimator.decision_function(X), dtype=np.float64)
    unseen = _never_seen_labels(estimator)
    if unseen and scores.ndim == 2:
        scores[:, unseen] = scores.min() - 1.0
    return scores
