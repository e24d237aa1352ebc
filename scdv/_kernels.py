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

E_k and F_k cost K operations per word. Most documents pass with cheaper,
looser bounds of one operation per word, taken first (Minkowski's
inequality over words, and max_k F_k <= sum_w a_w max_k q_wk max_j |v_wj|):

    L <= sum_w a_w ||v_w|| ||q_w||_2,   max_k F_k <= sum_w a_w max_j |v_wj| max_k q_wk.

A document whose bound exceeds the tolerance is recomputed exactly, over
all posteriors. Either way each entry is within the tolerance of the exact
sum; accumulation is in float64 and only the output is rounded to float32.
The kept pairs are summed cluster by cluster, so that a block of the
accumulator stays in L1 while its words are added. The dense (n_docs, K*d)
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

# The per-document helpers below are inlined into the kernel by numba
# (inline="always"), and each block's norm and peak are taken by
# ``_sum_of_squares`` and ``_abs_max`` right where the block is summed
# rather than by one more helper around the two: left to LLVM, with that
# helper, the calls once per document and per block made the kernel 5-10%
# slower than the single function it replaces; like this it is as fast.


@njit(cache=True, nogil=True, fastmath=_FAST)
def _sum_of_squares(x):
    total = 0.0
    for j in range(x.shape[0]):
        total += x[j] * x[j]
    return total


@njit(cache=True, nogil=True)
def _abs_max(bits, box):
    # max_j |x_j| of float64 values given as their int64 bits. With the sign
    # bit cleared, non-negative doubles order as their bits do; an integer
    # max vectorises, while a float max does not (NaN semantics), and the
    # loop over every touched block would otherwise cost as much as the sum.
    top = 0
    for j in range(bits.shape[0]):
        top = max(top, bits[j] & 0x7FFF_FFFF_FFFF_FFFF)
    box[0] = top
    return box.view(np.float64)[0]


@njit(cache=True, nogil=True)
def _most_pairs(doc_indptr, doc_words, p_indptr):
    """Kept (word, cluster) pairs of the largest document, at least 1.

    Parameters
    ----------
    doc_indptr, doc_words : arrays
        CSR indptr and indices of the count matrix.
    p_indptr : (V + 1,) int64
        Per word, where its kept clusters start.

    Returns
    -------
    int
        The length the pair buffers need.
    """
    max_pairs = 1
    for doc in range(doc_indptr.shape[0] - 1):
        pairs = 0
        for i in range(doc_indptr[doc], doc_indptr[doc + 1]):
            pairs += p_indptr[doc_words[i] + 1] - p_indptr[doc_words[i]]
        max_pairs = max(max_pairs, pairs)
    return max_pairs


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _group_pairs(start, n, doc_words, doc_counts, idf, p_indptr, p_clusters, p_values,
                 word_left_norm, word_left_peak, blocks, first, stop, pair_word,
                 pair_scale):
    """Group one document's kept pairs by cluster; take the cheap bounds.

    The pairs are counting-sorted by cluster so that each cluster's block is
    summed while it stays in L1: in word order, every pair would move a
    whole block through L2. Blocks come out in increasing k, which gives
    sorted column indices (canonical CSR); within a cluster the words stay
    in document order, as in a word-by-word sum.

    Parameters
    ----------
    start, n : int
        The document's entries are ``doc_words[start:start + n]``.
    doc_words, doc_counts, idf, p_indptr, p_clusters, p_values, word_left_norm, word_left_peak
        As in ``composite_vectors_kernel``.
    blocks : (K,) int64
        Set to the touched clusters, in increasing order.
    first, stop : (K,) int64
        Set so that cluster k's pairs are slots ``first[k]:stop[k]``.
    pair_word : int64 array, pair_scale : float64 array
        Set to each slot's word and ``a_w * p(C_k|w)``.

    Returns
    -------
    n_blocks : int
        How many entries of ``blocks`` are set.
    L, F_max : float
        The cheap bounds of the module docstring (one operation per word).
    """
    K = first.shape[0]
    stop[:] = 0
    for i in range(n):
        w = doc_words[start + i]
        for pp in range(p_indptr[w], p_indptr[w + 1]):
            stop[p_clusters[pp]] += 1
    n_blocks = 0
    total = 0
    for k in range(K):
        if stop[k] > 0:
            blocks[n_blocks] = k
            n_blocks += 1
        first[k] = total
        total += stop[k]
        stop[k] = first[k]
    # The bounds share this pass over the words with the pair placement.
    L = 0.0
    F_max = 0.0
    for i in range(n):
        w = doc_words[start + i]
        weight = doc_counts[start + i] * idf[w]
        L += weight * word_left_norm[w]
        F_max += weight * word_left_peak[w]
        for pp in range(p_indptr[w], p_indptr[w + 1]):
            k = p_clusters[pp]
            pair_word[stop[k]] = w
            pair_scale[stop[k]] = weight * p_values[pp]
            stop[k] += 1
    return n_blocks, L, F_max


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _sum_kept(n_blocks, blocks, first, stop, pair_word, pair_scale, vectors, acc, acc_bits,
              box, peaks):
    """Add one document's kept pairs into ``acc``, cluster by cluster.

    Parameters
    ----------
    n_blocks, blocks, first, stop, pair_word, pair_scale
        As set by ``_group_pairs``.
    vectors : (V, d) float32 or float64
    acc : (K*d,) float64
        The document's accumulator u'; must be zero on entry.
    acc_bits : (K*d,) int64
        The same memory, viewed as int64 (see ``_abs_max``).
    box : (1,) int64
        Scratch for ``_abs_max``.
    peaks : (K,) float64
        ``peaks[k]`` is set to ``max_j |u'_kj|`` for each touched block.

    Returns
    -------
    norm : float
        ``||u'||``.
    peak : float
        ``max_j |u'_j|``.
    """
    d = vectors.shape[1]
    norm = 0.0
    peak = 0.0
    for b in range(n_blocks):
        k = blocks[b]
        block = acc[k * d:(k + 1) * d]
        for slot in range(first[k], stop[k]):
            v = vectors[pair_word[slot]]
            scale = pair_scale[slot]
            for j in range(d):
                block[j] += scale * v[j]
        norm += _sum_of_squares(block)
        peaks[k] = _abs_max(acc_bits[k * d:(k + 1) * d], box)
        peak = max(peak, peaks[k])
    return np.sqrt(norm), peak


@njit(cache=True, nogil=True, fastmath=_FAST)
def _error_bound(norm, peak, L, F_max):
    # Largest error of any normalised entry (module docstring); inf when
    # the left-out part could be as large as what was kept.
    if L == 0.0 and F_max == 0.0:
        return 0.0
    if norm <= L:
        return np.inf
    return (F_max + peak / norm * L) / (norm - L)


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _needs_exact(start, n, doc_words, doc_counts, idf, vector_norm, vector_peak, left, norm,
                 peak, L, F_max, tolerance, E, F):
    """Whether the fast sum of one document may miss the tolerance.

    The cheap bounds come first; only a document they fail pays K
    operations per word for the per-cluster bounds E_k and F_k.

    Parameters
    ----------
    start, n : int
        The document's entries are ``doc_words[start:start + n]``.
    doc_words, doc_counts, idf, vector_norm, vector_peak, left, tolerance
        As in ``composite_vectors_kernel``.
    norm, peak : float
        ``||u'||`` and ``max_j |u'_j|`` of the fast sum.
    L, F_max : float
        The cheap bounds from ``_group_pairs``.
    E, F : (K,) float64
        Scratch.

    Returns
    -------
    bool
        True when even the per-cluster bound exceeds ``tolerance``.
    """
    # ``not >`` rather than ``<=``: a NaN bound passes, as it does below.
    if not _error_bound(norm, peak, L, F_max) > tolerance:
        return False
    K = E.shape[0]
    E[:] = 0.0
    F[:] = 0.0
    for i in range(n):
        w = doc_words[start + i]
        weight = doc_counts[start + i] * idf[w]
        to_norm = weight * vector_norm[w]
        to_peak = weight * vector_peak[w]
        for k in range(K):
            E[k] += to_norm * left[w, k]
            F[k] += to_peak * left[w, k]
    L = 0.0
    F_max = 0.0
    for k in range(K):
        L += E[k] * E[k]
        F_max = max(F_max, F[k])
    return _error_bound(norm, peak, np.sqrt(L), F_max) > tolerance


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _exact_sum(start, n, doc_words, doc_counts, idf, vectors, proba_t, acc, acc_bits, box,
               blocks, peaks):
    """u of one document over all posteriors, every block touched.

    Cluster by cluster so each block stays in L1. Plain loops rather than
    BLAS: no BLAS threads to limit, no buffers.

    Parameters
    ----------
    start, n : int
        The document's entries are ``doc_words[start:start + n]``.
    doc_words, doc_counts, idf, vectors, proba_t
        As in ``composite_vectors_kernel``.
    acc, acc_bits, box : arrays
        As in ``_sum_kept``; ``acc`` is overwritten with u.
    peaks : (K,) float64
        Set to every block's ``max_j |u_kj|``.
    blocks : (K,) int64
        Set to 0, ..., K - 1.

    Returns
    -------
    float
        ``||u||``.
    """
    K = proba_t.shape[0]
    d = vectors.shape[1]
    acc[:] = 0.0
    norm = 0.0
    for k in range(K):
        block = acc[k * d:(k + 1) * d]
        for i in range(n):
            w = doc_words[start + i]
            scale = doc_counts[start + i] * idf[w] * proba_t[k, w]
            v = vectors[w]
            for j in range(d):
                block[j] += scale * v[j]
        norm += _sum_of_squares(block)
        peaks[k] = _abs_max(acc_bits[k * d:(k + 1) * d], box)
        blocks[k] = k
    return np.sqrt(norm)


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _row_min_max(acc, blocks, n_blocks, d, norm):
    """``STATS``: smallest and largest entry of one normalised row.

    Parameters
    ----------
    acc : (K*d,) float64
        The document's u; only the listed blocks may be non-zero.
    blocks : (K,) int64, n_blocks : int
        The touched blocks are ``blocks[:n_blocks]``.
    d : int
    norm : float
        ``||u||``.

    Returns
    -------
    lo, hi : float
        (0, 0) for a zero row.
    """
    # Blocks never touched are exact zeros, so 0 is among the entries.
    lo = 0.0
    hi = 0.0
    if norm > 0.0:
        inv = 1.0 / norm
        if n_blocks == blocks.shape[0]:  # every block touched: no zero block
            lo = np.inf
            hi = -np.inf
        for b in range(n_blocks):
            block = acc[blocks[b] * d:(blocks[b] + 1) * d]
            for j in range(d):
                x = block[j] * inv
                lo = min(lo, x)
                hi = max(hi, x)
    return lo, hi


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _write_row(acc, blocks, n_blocks, peaks, d, norm, threshold, pos, out_indices,
               out_data):
    """``WRITE``: one normalised row's entries with ``|x| >= threshold``, as CSR.

    Parameters
    ----------
    acc, blocks, n_blocks, d, norm
        As in ``_row_min_max``; ``norm`` must be positive.
    peaks : (K,) float64
        Each touched block's ``max_j |u_kj|``, to skip blocks with no survivor.
    threshold : float
    pos : int
        Where the row starts in the output; the caller has checked that
        ``n_blocks * d`` entries fit from there.
    out_indices : int32 array, out_data : float32 array
        Filled in place.

    Returns
    -------
    int
        Where the next row starts.
    """
    inv = 1.0 / norm
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
    return pos


@njit(cache=True, nogil=True, inline="always")
def _clear_blocks(acc, blocks, n_blocks, d):
    # Zero only what the document touched: the next one starts from zeros.
    for b in range(n_blocks):
        k = blocks[b]
        acc[k * d:(k + 1) * d] = 0.0


@njit(cache=True, nogil=True, fastmath=_FAST)
def composite_vectors_kernel(mode, doc_indptr, doc_words, doc_counts, idf, vectors,
                             proba_t, p_indptr, p_clusters, p_values, vector_norm,
                             vector_peak, left, word_left_norm, word_left_peak, threshold,
                             tolerance, row_stats, first_doc, out_indptr, out_indices,
                             out_data):
    """Normalised, thresholded SCDV vectors of a batch of count rows.

    Parameters
    ----------
    mode : int
        ``STATS`` or ``WRITE`` (see the module docstring).
    doc_indptr, doc_words, doc_counts : arrays
        CSR (indptr int64, indices int64, data float64) of the (n_docs, V)
        count matrix.
    idf : (V,) float64
    vectors : (V, d) float32 or float64, C-contiguous
    proba_t : (K, V) float64, C-contiguous
        All posteriors, transposed; used by the exact path.
    p_indptr, p_clusters, p_values : arrays
        Per word (CSR by word), the clusters the fast path keeps and their
        posteriors.
    vector_norm, vector_peak : (V,) float64
        ||v_w|| and max_j |v_wj|.
    left : (V, K) float32
        q_wk, the posterior the fast path leaves out, rounded up (float32
        halves the bytes read per word; rounding up keeps it a bound).
    word_left_norm, word_left_peak : (V,) float64
        ||v_w|| ||q_w||_2 and max_j |v_wj| max_k q_wk: the per-word parts
        of the cheap bounds.
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
    n_docs, d, K = doc_indptr.shape[0] - 1, vectors.shape[1], proba_t.shape[0]
    # Scratch for the whole call. acc is zero between documents (each one
    # clears the blocks it touched); the rest is overwritten per document.
    acc = np.zeros(K * d)
    acc_bits = acc.view(np.int64)
    box = np.zeros(1, dtype=np.int64)
    blocks = np.empty(K, dtype=np.int64)
    first = np.empty(K, dtype=np.int64)
    stop = np.zeros(K, dtype=np.int64)
    max_pairs = _most_pairs(doc_indptr, doc_words, p_indptr)
    pair_word = np.empty(max_pairs, dtype=np.int64)
    pair_scale = np.empty(max_pairs)
    E, F, peaks = np.empty(K), np.empty(K), np.zeros(K)
    capacity = out_data.shape[0]
    pos = out_indptr[first_doc]
    n_exact = 0
    for doc in range(first_doc, n_docs):
        start = doc_indptr[doc]
        n = doc_indptr[doc + 1] - start
        n_blocks, L, F_max = _group_pairs(
            start, n, doc_words, doc_counts, idf, p_indptr, p_clusters, p_values,
            word_left_norm, word_left_peak, blocks, first, stop, pair_word, pair_scale)
        norm, peak = _sum_kept(n_blocks, blocks, first, stop, pair_word, pair_scale,
                               vectors, acc, acc_bits, box, peaks)
        if _needs_exact(start, n, doc_words, doc_counts, idf, vector_norm, vector_peak,
                        left, norm, peak, L, F_max, tolerance, E, F):
            n_exact += 1
            norm = _exact_sum(start, n, doc_words, doc_counts, idf, vectors, proba_t,
                              acc, acc_bits, box, blocks, peaks)
            n_blocks = K
        if mode == STATS:
            lo, hi = _row_min_max(acc, blocks, n_blocks, d, norm)
            row_stats[doc, 0] = lo
            row_stats[doc, 1] = hi
        elif norm > 0.0:
            if pos + n_blocks * d > capacity:
                _clear_blocks(acc, blocks, n_blocks, d)
                return doc, n_exact
            pos = _write_row(acc, blocks, n_blocks, peaks, d, norm, threshold, pos,
                             out_indices, out_data)
        out_indptr[doc + 1] = pos
        _clear_blocks(acc, blocks, n_blocks, d)
    return n_docs, n_exact


@njit(cache=True, nogil=True)
def bag_of_words(indptr, ids, n_features):
    """Count each document's tokens: CSR arrays of the (n_docs, V) count matrix.

    Parameters
    ----------
    indptr : (n_docs + 1,) int64
        Document i's tokens are ``ids[indptr[i]:indptr[i + 1]]``.
    ids : int32 array
        Each token's vocabulary column, or -1 for a word outside it.
    n_features : int
        V.

    Returns
    -------
    out_indptr : (n_docs + 1,) int64
    words : int32 array
        Each row's distinct columns, sorted (canonical CSR).
    counts : float64 array
    """
    n_docs = indptr.shape[0] - 1
    # Start counting at 0 whatever indptr[0] is: a row slice keeps the ids.
    seen = np.zeros(n_features, dtype=np.int64)
    out_indptr = np.zeros(n_docs + 1, dtype=np.int64)
    size = indptr[n_docs] - indptr[0]
    words = np.empty(size, dtype=np.int32)
    counts = np.empty(size, dtype=np.float64)
    pos = 0
    for doc in range(n_docs):
        first = pos
        for t in range(indptr[doc], indptr[doc + 1]):
            w = ids[t]
            if w < 0:
                continue
            if seen[w] == 0:
                words[pos] = w
                pos += 1
            seen[w] += 1
        words[first:pos].sort()
        for p in range(first, pos):
            counts[p] = seen[words[p]]
            seen[words[p]] = 0
        out_indptr[doc + 1] = pos
    return out_indptr, words[:pos].copy(), counts[:pos].copy()
