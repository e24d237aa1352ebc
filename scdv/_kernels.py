"""Compiled inner loop of the SCDV document vector (numba).

The composite vector of a document is, block by block (one block of length d
per cluster k),

    u_k = sum_w c(w) * idf(w) * p(C_k|w) * v_w

Done literally this costs K*d operations per token. The posteriors p(C_k|w)
are very peaked, so the kernel walks a pruned copy that keeps, for each word,
only the clusters with p(C_k|w) >= eps, and touches only those blocks. What is
left out is bounded: with r(w) the pruned posterior mass of w,

    E = sum_w c(w) * idf(w) * r(w) * ||v_w||

bounds ||u - u'||_2, and so every entry; each entry of the normalised vector
is then off by at most 2E / (||u'|| - E). When that bound exceeds the
tolerance the document is recomputed over all K clusters, so the result is
exact to the tolerance whatever the posteriors look like.

Accumulation is in float64; the output is float32. The kernel runs in one of
three modes so that a caller can size the output exactly before writing it,
and never holds more than the output itself:

- ``STATS``: each row's smallest and largest normalised entry (for the
  threshold);
- ``COUNT``: how many entries of each row survive the threshold;
- ``WRITE``: write the surviving entries at the offsets given.
"""

from __future__ import annotations

import numpy as np
from numba import njit

STATS, COUNT, WRITE = 0, 1, 2


@njit(cache=True, nogil=True)
def _accumulate(start, stop, doc_words, doc_counts, idf, vectors, p_indptr,
                p_clusters, p_values, acc, touched, blocks, d):
    # Pruned pass: only the blocks of clusters each word keeps.
    n_blocks = 0
    for jj in range(start, stop):
        w = doc_words[jj]
        weight = doc_counts[jj] * idf[w]
        for pp in range(p_indptr[w], p_indptr[w + 1]):
            k = p_clusters[pp]
            if not touched[k]:
                touched[k] = True
                blocks[n_blocks] = k
                n_blocks += 1
            scale = weight * p_values[pp]
            base = k * d
            for j in range(d):
                acc[base + j] += scale * vectors[w, j]
    return n_blocks


@njit(cache=True, nogil=True)
def _accumulate_all(start, stop, doc_words, doc_counts, idf, vectors, proba,
                    acc, touched, blocks, d):
    # Full pass over every cluster, for documents the bound rejects.
    K = proba.shape[1]
    for k in range(K):
        touched[k] = True
        blocks[k] = k
    for jj in range(start, stop):
        w = doc_words[jj]
        weight = doc_counts[jj] * idf[w]
        for k in range(K):
            scale = weight * proba[w, k]
            if scale != 0.0:
                base = k * d
                for j in range(d):
                    acc[base + j] += scale * vectors[w, j]
    return K


@njit(cache=True, nogil=True)
def composite_vectors_kernel(
    mode,
    doc_indptr,
    doc_words,
    doc_counts,
    idf,
    word_norms,
    vectors,
    proba,
    p_indptr,
    p_clusters,
    p_values,
    residual,
    threshold,
    tolerance,
    row_stats,
    out_indptr,
    out_indices,
    out_data,
):
    """Normalised, thresholded SCDV vectors of a batch of count rows.

    Parameters
    ----------
    mode : int
        ``STATS``, ``COUNT`` or ``WRITE`` (see the module docstring).
    doc_indptr, doc_words, doc_counts : arrays
        CSR (indptr, indices, data) of the (n_docs, V) count matrix.
    idf : (V,) float64
    word_norms : (V,) float64
        L2 norm of each word vector.
    vectors : (V, d) float32
    proba : (V, K) float64
        All posteriors, used only for documents whose bound fails.
    p_indptr, p_clusters, p_values : arrays
        Per word, the clusters whose posterior is kept, and that posterior.
    residual : (V,) float64
        Pruned posterior mass of each word.
    threshold : float
        Entries with ``|x| < threshold`` are dropped (``COUNT``, ``WRITE``).
    tolerance : float
        Largest acceptable error per normalised entry before falling back.
    row_stats : (n_docs, 2) float64
        ``STATS`` writes each row's (min, max) here; ``COUNT`` writes the
        number of surviving entries in column 0.
    out_indptr : (n_docs + 1,) int64
        ``WRITE`` writes row i at ``out_indptr[i]`` onwards.
    out_indices : int32 array, out_data : float32 array
        ``WRITE`` output.

    Returns
    -------
    n_exact : int
        Number of documents that needed the full computation.
    """
    n_docs = doc_indptr.shape[0] - 1
    d = vectors.shape[1]
    K = proba.shape[1]
    acc = np.zeros(K * d, dtype=np.float64)
    touched = np.zeros(K, dtype=np.bool_)
    blocks = np.empty(K, dtype=np.int64)
    n_exact = 0

    for doc in range(n_docs):
        start, stop = doc_indptr[doc], doc_indptr[doc + 1]
        bound = 0.0
        for jj in range(start, stop):
            w = doc_words[jj]
            bound += doc_counts[jj] * idf[w] * residual[w] * word_norms[w]
        n_blocks = _accumulate(start, stop, doc_words, doc_counts, idf, vectors,
                               p_indptr, p_clusters, p_values, acc, touched, blocks, d)
        norm = 0.0
        for b in range(n_blocks):
            base = blocks[b] * d
            for j in range(d):
                norm += acc[base + j] * acc[base + j]
        norm = np.sqrt(norm)

        if bound > 0.0 and (norm <= bound or 2.0 * bound / (norm - bound) > tolerance):
            n_exact += 1
            for b in range(n_blocks):
                touched[blocks[b]] = False
            acc[:] = 0.0
            n_blocks = _accumulate_all(start, stop, doc_words, doc_counts, idf,
                                       vectors, proba, acc, touched, blocks, d)
            norm = 0.0
            for j in range(K * d):
                norm += acc[j] * acc[j]
            norm = np.sqrt(norm)

        inv = 1.0 / norm if norm > 0.0 else 0.0
        if mode == 0:
            # Blocks never touched are exact zeros, so 0 is among the entries.
            lo = 0.0 if n_blocks < K or norm == 0.0 else np.inf
            hi = 0.0 if n_blocks < K or norm == 0.0 else -np.inf
            if norm > 0.0:
                for b in range(n_blocks):
                    base = blocks[b] * d
                    for j in range(d):
                        x = acc[base + j] * inv
                        lo = min(lo, x)
                        hi = max(hi, x)
            row_stats[doc, 0] = lo
            row_stats[doc, 1] = hi
        elif mode == 1:
            kept = 0
            if norm > 0.0:
                for b in range(n_blocks):
                    base = blocks[b] * d
                    for j in range(d):
                        x = acc[base + j] * inv
                        if x != 0.0 and abs(x) >= threshold:
                            kept += 1
            row_stats[doc, 0] = kept
        else:
            pos = out_indptr[doc]
            if norm > 0.0:
                # Sorted blocks give sorted column indices: canonical CSR.
                blocks[:n_blocks].sort()
                for b in range(n_blocks):
                    base = blocks[b] * d
                    for j in range(d):
                        x = acc[base + j] * inv
                        if x != 0.0 and abs(x) >= threshold:
                            out_indices[pos] = base + j
                            out_data[pos] = x
                            pos += 1

        for b in range(n_blocks):
            base = blocks[b] * d
            touched[blocks[b]] = False
            for j in range(d):
                acc[base + j] = 0.0

    return n_exact
