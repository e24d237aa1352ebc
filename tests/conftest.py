"""Tiny corpora and a fitted model shared by the tests.

The English corpus is generated from three topic vocabularies plus shared
filler words, so that word2vec and the mixture have structure to find in
well under a second.
"""

import copy
import dataclasses
import random
import socket

import pytest

from scdv import PAPER_PARAMS, SCDV

TOPICS = {
    "space": "orbit rocket launch planet moon nasa shuttle astronaut galaxy telescope "
             "satellite mission comet lunar solar star gravity capsule booster mars",
    "sport": "hockey goal team player season coach league score puck game fans "
             "playoff skate referee win loss match stadium tournament pitcher",
    "crypto": "encryption key cipher algorithm secure privacy chip clipper escrow "
              "government wiretap public secret message code password hash nsa",
}
FILLER = "people think time year good know new way make really question".split()


def make_corpus(n_docs=90, length=40, seed=0):
    """Documents and labels drawn from the three topics."""
    rng = random.Random(seed)
    names = sorted(TOPICS)
    docs, labels = [], []
    for i in range(n_docs):
        topic = names[i % len(names)]
        words = TOPICS[topic].split()
        tokens = [rng.choice(words) if rng.random() < 0.75 else rng.choice(FILLER)
                  for _ in range(length)]
        docs.append(" ".join(tokens).capitalize() + ".")
        labels.append(topic)
    return docs, labels


#: The paper's model (scdv.PAPER_PARAMS), made small: exactness tests check the
#: paper's formulas whatever SCDV()'s own defaults are.
SMALL_PARAMS = {**{k: v for k, v in PAPER_PARAMS.items() if k not in ("tokenizer", "word_vectors")},
                **dict(vector_size=16, n_components=4, min_count=2, epochs=5, window=5,
                       negative=5, random_state=0)}


@pytest.fixture(scope="session")
def corpus():
    return make_corpus()


@pytest.fixture(scope="session")
def _fitted(corpus):
    docs, _ = corpus
    return SCDV(**SMALL_PARAMS).fit(docs)


@pytest.fixture
def fitted(_fitted):
    """A fitted SCDV on the tiny corpus, copied so a test may change it."""
    return copy.deepcopy(_fitted)


JAPANESE_DOCS = [
    "東京の空は青く、美しい景色が広がっていた。",
    "私は毎朝コーヒーを飲んでから会社へ行きます。",
    "新しいスマートフォンのカメラは素晴らしい性能だ。",
    "サッカーの試合で日本代表が勝利した。",
    "ＡＢＣ社の株価が大きく上昇した。",
]


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Point every corpus download at a closed port on 127.0.0.1: no test reaches the internet."""
    from pipelines import datasets

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for key, spec in list(datasets._DOWNLOADS.items()):
        offline = dataclasses.replace(spec, url=f"http://127.0.0.1:{port}/{spec.filename}")
        monkeypatch.setitem(datasets._DOWNLOADS, key, offline)
