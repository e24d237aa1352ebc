"""Compiled inner loop of the SCDV document vector (numba).

For one document with distinct vocabulary words w (count c_w, weight
a_w = c_w * idf(w)), the composite vector is, block by block (one block of
length d per cluster k),

    u_k = sum_w a_w * p(C_k | w) * v_w

Adding each distinct word once with its count is the paper's per-token sum,
regrouped. The posteriors are peaked: a word has a handful of clusters with
p(C_k|w) >= eps and dozens below. The fast path adds only the pairs (w, k)
with p >= eps, and bounds what it left out, per block k:

    E_k = sum_w a_w * q_wk * ||v_w||        (bounds ||e_k||_2)
    F_k = sum_w a_w * q_wk * max_j |v_wj|   (bounds every entry of e_k)

where q_wk is the posterior left out and e = u - u' the error. With
L = sqrt(sum_k E_k^2) >= ||e||_2 and x' = u' / ||u'||, every entry of the
normalised vector is then off by at most

    (max_k F_k + max_j |x'_j| * L) / (||u'|| - L).

A document whose bound exceeds the tolerance is recomputed exactly, as one
dense product U = A^T V (K x n times n x d) over all posteriors. Either way
each entry is within the tolerance of the exact sum; accumulation is in
float64 and only the output is rounded to float32. The dense (n_docs, K*d)
matrix never exists: a document's K x d accumulator is normalised, cut and
written out before the next document.

Two modes:

- ``STATS``: each row's smallest and largest normalised entry (to learn the
  threshold), without output;
- ``WRITE``: the entries of each row that survive the threshold, as CSR.
"""

from __future__ import annotations

import numpy as np
from numba import njit

STATS, WRITE = 0, 1

# Re-association and fused multiply-add let the d-loops vectorise; the flags
# that assume no NaN or inf are left off, since min/max start from inf.
_FAST = {"reassoc", "contract"}


@njit(cache=True, nogil=True, fastmath=_FAST)
def _exact_block(start, n, doc_words, doc_counts, idf, vectors, proba_t, At_buf, Vd_buf, U):
    # All posteriors, as one small matrix product into U (K x d).
    K = proba_t.shape[0]
    d = vectors.shape[1]
    At = At_buf[: K * n].reshape((K, n))
    Vd = Vd_buf[: n * d].reshape((n, d))
    for i in range(n):
        w = doc_words[start + i]
        weight = doc_counts[start + i] * idf[w]
        for k in range(K):
            At[k, i] = weight * proba_t[k, w]
        Vd[i, :] = vectors[w, :]
    np.dot(At, Vd, U)


@njit(cache=True, nogil=True, fastmath=_FAST)
def composite_vectors_kernel(mode, doc_indptr, doc_words, doc_counts, idf, vectors,
                             proba_t, p_indptr, p_clusters, p_values, left_norm,
                             left_peak, threshold, tolerance, row_stats, first_doc,
                             out_indptr, out_indices, out_data):
    """Normalised, thresholded SCDV vectors of a batch of count rows.

    Parameters
    ----------
    mode : int
        ``STATS`` or ``WRITE`` (see the module docstring).
    doc_indptr, doc_words, doc_counts : arrays
        CSR (indptr int64, indices int64, data float64) of the (n_docs, V)
        count matrix.
    idf : (V,) float64
    vectors : (V, d) float64, C-contiguous
    proba_t : (K, V) float64, C-contiguous
        All posteriors, transposed; used by the exact path.
    p_indptr, p_clusters, p_values : arrays
        Per word (CSR by word), the clusters the fast path keeps and their
        posteriors.
    left_norm, left_peak : (V, K) float64
        The posterior left out of each pair times ||v_w|| and times
        max_j |v_wj|: the per-word parts of E_k and F_k.
    threshold : float
        ``WRITE`` drops entries with ``|x| < threshold``.
    tolerance : float
        Largest error per normalised entry the fast path may make.
    row_stats : (n_docs, 2) float64
        ``STATS`` writes each row's (min, max) here; a zero row gives (0, 0).
    first_doc : int
        Start at this row (to resume after the caller grew the output).
    out_indptr : (n_docs + 1,) int64
        ``WRITE``: row i's entries go to ``out_indptr[i]:out_indptr[i + 1]``
        of the arrays below; ``out_indptr[first_doc]`` must be set.
    out_indices : int32 array, out_data : float32 array
        ``WRITE`` output, filled in place.

    Returns
    -------
    next_doc : int
        ``n_docs`` when done; otherwise the row that did not fit in the
        output arrays: grow them and call again from there.
    n_exact : int
        Documents that took the exact path.
    """
    n_docs = doc_indptr.shape[0] - 1
    d = vectors.shape[1]
    K = proba_t.shape[0]
    max_words = 1
    for doc in range(n_docs):
        max_words = max(max_words, doc_indptr[doc + 1] - doc_indptr[doc])
    At_buf = np.empty(K * max_words)
    Vd_buf = np.empty(max_words * d)
    acc = np.zeros(K * d)
    U = acc.reshape((K, d))
    touched = np.zeros(K, dtype=np.bool_)
    blocks = np.empty(K, dtype=np.int64)
    E = np.empty(K)
    F = np.empty(K)
    peaks = np.zeros(K)

    capacity = out_data.shape[0]
    pos = out_indptr[first_doc]
    n_exact = 0

    for doc in range(first_doc, n_docs):
        start = doc_indptr[doc]
        n = doc_indptr[doc + 1] - start
        E[:] = 0.0
        F[:] = 0.0
        n_blocks = 0
        for i in range(n):
            w = doc_words[start + i]
            weight = doc_counts[start + i] * idf[w]
            for k in range(K):
                E[k] += weight * left_norm[w, k]
                F[k] += weight * left_peak[w, k]
            v = vectors[w]
            for pp in range(p_indptr[w], p_indptr[w + 1]):
                k = p_clusters[pp]
                if not touched[k]:
                    touched[k] = True
                    blocks[n_blocks] = k
                    n_blocks += 1
                scale = weight * p_values[pp]
                block = acc[k * d:(k + 1) * d]
                for j in range(d):
                    block[j] += scale * v[j]

        norm = 0.0
        peak = 0.0
        for b in range(n_blocks):
            block = acc[blocks[b] * d:(blocks[b] + 1) * d]
            block_peak = 0.0
            for j in range(d):
                norm += block[j] * block[j]
                block_peak = max(block_peak, abs(block[j]))
            peaks[blocks[b]] = block_peak
            peak = max(peak, block_peak)
        norm = np.sqrt(norm)

        if n > 0:
            L = 0.0
            F_max = 0.0
            for k in range(K):
                L += E[k] * E[k]
                F_max = max(F_max, F[k])
            L = np.sqrt(L)
            exact = L > 0.0 and (
                norm <= L or (F_max + peak / norm * L) / (norm - L) > tolerance
            )
            if exact:
                n_exact += 1
                _exact_block(start, n, doc_words, doc_counts, idf, vectors, proba_t,
                             At_buf, Vd_buf, U)
                for k in range(K):
                    touched[k] = True
                    blocks[k] = k
                n_blocks = K
                norm = 0.0
                for k in range(K):
                    block = acc[k * d:(k + 1) * d]
                    block_peak = 0.0
                    for j in range(d):
                        norm += block[j] * block[j]
                        block_peak = max(block_peak, abs(block[j]))
                    peaks[k] = block_peak
                norm = np.sqrt(norm)

        # Sorted blocks give sorted column indices: canonical CSR.
        blocks[:n_blocks].sort()
        if mode == STATS:
            # Blocks never touched are exact zeros, so 0 is among the entries.
            lo = 0.0
            hi = 0.0
            if norm > 0.0:
                inv = 1.0 / norm
                if n_blocks == K:
                    lo = np.inf
                    hi = -np.inf
                for b in range(n_blocks):
                    block = acc[blocks[b] * d:(blocks[b] + 1) * d]
                    for j in range(d):
                        x = block[j] * inv
                        lo = min(lo, x)
                        hi = max(hi, x)
            row_stats[doc, 0] = lo
            row_stats[doc, 1] = hi
        elif norm > 0.0:
            inv = 1.0 / norm
            if pos + n_blocks * d > capacity:
                for b in range(n_blocks):
                    k = blocks[b]
                    touched[k] = False
                    acc[k * d:(k + 1) * d] = 0.0
                return doc, n_exact
            cut = threshold * norm
            for b in range(n_blocks):
                k = blocks[b]
                if peaks[k] < cut or peaks[k] == 0.0:
                    continue  # nothing in this cluster's block survives
                base = k * d
                # Write every entry, advance past the kept ones only: no
                # unpredictable branch per entry.
                for j in range(d):
                    u = acc[base + j]
                    out_indices[pos] = base + j
                    out_data[pos] = u * inv
                    pos += (u != 0.0) & (abs(u) >= cut)
        out_indptr[doc + 1] = pos

        for b in range(n_blocks):
            k = blocks[b]
            touched[k] = False
            acc[k * d:(k + 1) * d] = 0.0

    return n_docs, n_exact
