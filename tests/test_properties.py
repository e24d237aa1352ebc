"""Property-based tests: whatever text comes in, the output is well formed."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scdv import SparseThreshold

from .conftest import TOPICS

# Text mixing the model's own words with arbitrary unicode: control
# characters, emoji, other scripts, very long tokens, empty strings.
WORDS = sorted({w for words in TOPICS.values() for w in words.split()})
token = st.one_of(
    st.sampled_from(WORDS),
    st.text(min_size=0, max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=400),
    st.sampled_from(["\x00", "\u200b", "🚀", "東京", "Ωmega", "\r\n", "é" * 50]),
)
document = st.lists(token, max_size=40).map(" ".join)
PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(docs=st.lists(document, max_size=12))
def test_any_unicode_gives_finite_csr_of_the_right_shape(fitted, docs):
    X = fitted.transform(docs)
    assert sp.isspmatrix_csr(X) and X.dtype == np.float32
    assert X.shape == (len(docs), len(fitted.get_feature_names_out()))
    assert np.isfinite(X.data).all()
    assert (sp.linalg.norm(X, axis=1) <= 1 + 1e-5).all()


@PROPERTY
@given(doc=document)
def test_a_document_repeated_points_the_same_way(fitted, doc):
    once, twice = fitted.transform([doc, doc + " " + doc]).toarray()
    np.testing.assert_allclose(once, twice, atol=2e-6)


@PROPERTY
@given(docs=st.lists(document, min_size=1, max_size=10), data=st.data())
def test_rows_do_not_depend_on_batch_order_or_company(fitted, docs, data):
    X = fitted.transform(docs).toarray()
    order = data.draw(st.permutations(range(len(docs))))
    shuffled = fitted.transform([docs[i] for i in order]).toarray()
    np.testing.assert_array_equal(shuffled, X[list(order)])
    alone = fitted.transform([docs[0]]).toarray()
    np.testing.assert_array_equal(alone[0], X[0])


@PROPERTY
@given(p1=st.floats(0, 1), p2=st.floats(0, 1),
       X=st.lists(st.lists(st.floats(-1, 1), min_size=4, max_size=4), min_size=1, max_size=8))
def test_threshold_is_monotone_in_sparsity_percentage(p1, p2, X):
    X = np.array(X)
    lo, hi = sorted([p1, p2])
    t_lo = SparseThreshold(sparsity_percentage=lo).fit(X).threshold_
    t_hi = SparseThreshold(sparsity_percentage=hi).fit(X).threshold_
    assert t_lo <= t_hi


def test_concurrent_transforms_equal_sequential_ones(fitted, corpus):
    batches = [corpus[0][i::4] for i in range(4)] * 3
    sequential = [fitted.transform(b).toarray() for b in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda b: fitted.transform(b).toarray(), batches))
    for a, b in zip(sequential, concurrent):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_thread_count_does_not_change_the_output(fitted, corpus, n_jobs):
    reference = fitted.set_params(n_jobs=1, batch_size=7).transform(corpus[0]).toarray()
    out = fitted.set_params(n_jobs=n_jobs, batch_size=7).transform(corpus[0]).toarray()
    np.testing.assert_array_equal(out, reference)
