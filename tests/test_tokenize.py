import pickle
import unicodedata

import pytest

from scdv.tokenize import (
    TextTokenizer,
    english_tokenize,
    janome_tokenize,
    make_tokenizer,
    tokenize_documents,
)

from .conftest import JAPANESE_DOCS


def test_english_keeps_letters_lowercases_and_drops_stop_words_and_single_letters():
    text = "The X-ray's 42 results: GPUs, C3PO and a café!"
    assert english_tokenize(text) == ["ray", "results", "gpus", "po", "caf"]


def test_english_stop_words_can_be_replaced():
    assert english_tokenize("the cat", stop_words={"cat"}) == ["the"]


def test_janome_gives_base_forms_of_content_words():
    tokens = janome_tokenize("美しい花が咲いた。猫が走っている。")
    assert tokens == ["美しい", "花", "咲く", "猫", "走る"]


def test_janome_normalises_nfkc_and_lowercases_latin():
    # Full-width ＡＢＣ becomes abc; the numeral and its counter are dropped as a
    # number and a suffix, and come back, normalised, when those are kept.
    assert janome_tokenize("ＡＢＣ社が３回発表した") == ["abc", "発表", "する"]
    assert janome_tokenize("ＡＢＣ社が３回発表した", drop_details=()) == [
        "abc", "社", "3", "回", "発表", "する"]


def test_janome_drops_punctuation_that_nfkc_turns_into_ascii():
    # NFKC makes ！（） ASCII, which IPADIC tags as nouns (名詞,サ変接続), and the
    # ASCII "(" makes 都 a suffix; tagging first keeps 都 and drops the brackets.
    assert janome_tokenize("安い！東京（都）に行った。") == ["安い", "東京", "都", "行く"]


def test_janome_drops_ascii_symbols_tagged_as_nouns():
    tokens = janome_tokenize("詳細はhttp://example.com/a-b を参照（100%）")
    assert tokens == ["詳細", "http", "example", "com", "a", "b", "参照"]


def test_janome_keeps_symbols_in_nfkc_form_only_when_asked():
    tokens = janome_tokenize("安い！東京（都）に行った。", pos=("名詞", "動詞", "形容詞", "記号"))
    assert tokens == ["安い", "!", "東京", "(", "都", ")", "行く", "。"]


def test_janome_tokens_of_real_livedoor_articles_all_have_a_letter_or_digit():
    datasets = pytest.importorskip("pipelines.datasets")
    try:
        corpus = datasets.load_livedoor(download_if_missing=False)
    except datasets.DatasetNotFoundError as exc:
        pytest.skip(f"livedoor not available: {exc}")
    tokens = [t for text in corpus.data[::250] for t in janome_tokenize(text)]
    assert len(tokens) > 5000  # 30 articles
    # Before the fix, 8.4% of these tokens were punctuation such as "(" and ".".
    assert all(any(unicodedata.category(c)[0] in "LN" for c in t) for t in tokens)


def test_janome_part_of_speech_filter_and_stop_words_are_configurable():
    text = "美しい花が咲いた。"
    assert janome_tokenize(text, pos=("名詞",)) == ["花"]
    assert janome_tokenize(text, stop_words={"花"}) == ["美しい", "咲く"]


def test_text_tokenizer_with_janome_pickles_without_a_janome_object():
    tok = TextTokenizer("janome").fit(JAPANESE_DOCS)
    before = tok.transform(JAPANESE_DOCS)
    blob = pickle.dumps(tok)
    assert b"janome" not in blob.replace(b"'janome'", b"").replace(b"janome\x94", b"")
    assert len(blob) < 1000  # a live Tokenizer carries megabytes of dictionary
    assert pickle.loads(blob).transform(JAPANESE_DOCS) == before


def test_callable_tokenizer_is_used_as_given():
    assert tokenize_documents(["a-b c"], str.split) == [["a-b", "c"]]


def test_callable_returning_a_string_is_rejected():
    with pytest.raises(TypeError, match="must return a list of str"):
        tokenize_documents(["a b"], str.upper)


def test_none_tokenizer_passes_token_lists_through():
    assert tokenize_documents([["x", "y"], ()], None) == [["x", "y"], ()]


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ("a single string", ValueError, "string object received"),
        (None, TypeError, "iterable of str"),
        (["ok", 3], TypeError, "Document 1 is a int"),
        (["ok", b"bytes"], TypeError, "Document 1 is a bytes"),
    ],
)
def test_bad_raw_input_is_refused_with_what_was_expected(bad, error, message):
    with pytest.raises(error, match=message):
        tokenize_documents(bad, "english")


@pytest.mark.parametrize(
    "bad, message",
    [(["not", "tokenised"], "Document 0 is a str"), ([["ok", 1]], "contains a int token")],
)
def test_bad_pretokenised_input_is_refused(bad, message):
    with pytest.raises(TypeError, match=message):
        tokenize_documents(bad, None)


def test_unknown_tokenizer_name_names_the_choices():
    with pytest.raises(ValueError, match="'english', 'janome'"):
        make_tokenizer("french")


def test_named_tokenizers_pickle_for_worker_processes():
    func = make_tokenizer("english")
    assert pickle.loads(pickle.dumps(func))("Cats run") == ["cats", "run"]
