"""The ``scdv`` command: SCDV document vectors from files, without writing Python.

``scdv vectorize`` fits SCDV on documents (or loads a saved model) and writes
their vectors; ``scdv fit`` fits and saves a model. The work is done by the
functions of :mod:`scdv.commands` (reading, fitting or loading, vectorising,
writing), which a Python user can call too; this module only parses options,
checks them before anything expensive runs, and turns errors into one-line
messages and exit codes:

- 0: success;
- 1: bad data (missing or undecodable input, empty corpus, vocabulary too
  small, bad model file, an output that already exists, output too large);
- 2: bad usage (unknown or malformed options, parameter values out of range);
- 130: interrupted (Ctrl-C); 143 (SIGTERM) and 129 (SIGHUP), 128 + the
  signal's number, when stopped by kill, timeout, systemd or docker; nothing
  is written, and no temporary is left.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import logging
import math
import os
import signal
import stat
import sys
import threading
import unicodedata
import warnings

from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    make_constraint,
)

from . import _atomic, _io, commands
from ._version import __version__
from .clustering import COVARIANCE_TYPES
from .composite import SCDV
from .exceptions import ModelFormatError

__all__ = ["build_parser", "main", "cmd_fit", "cmd_vectorize"]

PROG = "scdv"
EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, silently, as if killed by the signal
MIB = 1024 * 1024
STDIO = _io.STDIO
COMMANDS = ("vectorize", "fit")


class UsageError(Exception):
    """Bad command-line usage: exit status 2."""


class DataError(Exception):
    """Bad input data, or an output that must not be replaced: exit status 1."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting.

    Subcommand parsers (``intermixed=True``) also accept options after and
    between the inputs: ``scdv vectorize a.txt -o out.npz b.txt``.
    """

    def __init__(self, *args, intermixed=False, **kwargs):
        super().__init__(*args, **kwargs)
        self._intermixed = intermixed
        self._mixing = False

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def parse_known_args(self, args=None, namespace=None):
        if self._intermixed and not self._mixing:
            self._mixing = True
            try:
                return self.parse_known_intermixed_args(args, namespace)
            finally:
                self._mixing = False
        return super().parse_known_args(args, namespace)


# ---------------------------------------------------------------------------
# Options


def _finite_float(text):
    # float() takes "inf" and "nan"; no parameter means anything by them.
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _float_or_none(text):
    # The parameters whose default may be None take "none" to turn them off.
    if text.strip().lower() == "none":
        return None
    return _finite_float(text)


#: The largest whole number an option takes (word2vec's C code, and threads).
MAX_INT_OPTION = 2**31 - 1


def _int_option(text):
    # Past a C int, word2vec's worker threads die on an OverflowError and the
    # fit waits for them forever.
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if abs(value) > MAX_INT_OPTION:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_INT_OPTION:,} in size, "
                                         f"got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def _stop_words_file(text):
    try:
        with open(text, encoding="utf-8") as handle:
            return frozenset(word.strip() for word in handle if word.strip())
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f"cannot read stop words from {text!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise argparse.ArgumentTypeError(
            f"the stop-word file {text!r} is not UTF-8 text") from None


def _tag_list(text):
    tags = tuple(tag.strip() for tag in text.split(",") if tag.strip())
    if not tags:
        raise argparse.ArgumentTypeError("give one or more parts of speech, e.g. 名詞,動詞")
    return tags


#: SCDV parameters offered as options: name -> (type, choices, help).
#: Their defaults come from ``SCDV().get_params()``.
FIT_PARAMETERS = {
    "tokenizer": (str, ("english", "janome"),
                  "how text becomes words: english (lower-cased words, English stop "
                  "words dropped) or janome (Japanese content words)"),
    "stop_words": (_stop_words_file, None,
                   "a UTF-8 file of stop words, one per line, that replaces the "
                   "tokenizer's own list (english: scikit-learn's; janome: none)"),
    "pos": (_tag_list, None,
            "janome only: the parts of speech to keep, comma-separated, e.g. "
            "名詞,動詞,形容詞,副詞; add 記号 to keep symbols"),
    "vector_size": (_int_option, None, "word-vector dimension d"),
    "window": (_int_option, None, "word2vec context window"),
    "min_count": (_int_option, None, "leave out words seen fewer times in the training text"),
    "negative": (_int_option, None, "word2vec negative samples"),
    "sample": (_finite_float, None, "word2vec down-sampling of frequent words"),
    "epochs": (_int_option, None, "word2vec passes over the text"),
    "n_components": (_int_option, None, "number of word clusters K; vectors have K*d columns"),
    "covariance_type": (str, COVARIANCE_TYPES, "Gaussian-mixture covariance"),
    "gmm_max_iter": (_int_option, None, "Gaussian-mixture EM iterations"),
    "sparsity_percentage": (_finite_float, None,
                            "p of the sparsity threshold; larger zeroes more entries"),
    "workers": (_int_option, None, "word2vec threads; only 1 gives repeatable vectors"),
    "batch_size": (_int_option, None,
                   "documents vectorised at a time (also applies with --model)"),
    "n_jobs": (_int_option, None, "threads for vectorising; the vectors do not depend on it "
                          "(also applies with --model)"),
    "word_vectors": (str, None, "pretrained vectors in word2vec text or binary format "
                                "(fastText .vec works) instead of training word2vec; "
                                "the word2vec options then do not apply"),
    "cluster_proba_threshold": (_float_or_none, None,
                                "SCDV-MS: cluster probabilities below this become 0 (0.3 "
                                "in the SCDV-MS paper; none keeps them all)"),
    "renormalize_proba": (bool, None, "with --cluster-proba-threshold, rescale each "
                                      "word's remaining cluster probabilities to sum to 1"),
    "sublinear_tf": (bool, None, "weigh each word by 1 + ln(count) instead of its count "
                                 "(not in the paper)"),
    "weighting": (str, ("idf", "sif"), "word weights: idf (the paper's) or sif, idf times "
                                       "a/(a + p(w)) as in P-SIF"),
    "sif_a": (float, None, "a of --weighting sif; smaller discounts frequent words more"),
    "power": (_float_or_none, None, "signed power of every entry, then unit rows (0.5: "
                                    "signed square root; none: the paper's vectors)"),
    "trainer": (str, ("word2vec", "fasttext"), "word vectors: word2vec (the paper's) or "
                                               "fasttext (with character n-grams)"),
    "random_state": (int, None, None),  # help written below: its default differs
}
#: The command line seeds runs so that they repeat; the library's default is None.
CLI_RANDOM_STATE = 0
#: Options that still mean something when a saved model is loaded.
TRANSFORM_PARAMETERS = tuple(name for name in commands.TRANSFORM_PARAMETERS
                             if name in FIT_PARAMETERS)
#: What standard output (-o -) and a file get when --format is not given.
STDOUT_FORMAT = _io.default_format(STDIO)
FILE_FORMAT = _io.default_format("OUT")


def _option(name):
    return "--" + name.replace("_", "-")


def _add_input_options(parser):
    group = parser.add_argument_group("input")
    group.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="a file (one document), a directory (every regular file below it that "
             "is not hidden, in sorted path order, one document each; symbolic links "
             "to directories are not followed; see --glob) or - (standard input, one "
             "document per non-blank line)",
    )
    group.add_argument(
        "--glob", action="append", default=[], metavar="PATTERN", dest="include",
        help="in directories, read only files whose name (or path below the "
             "directory) matches this shell pattern, e.g. '*.txt'; repeat for more "
             "(default: every file)",
    )
    group.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN",
        help="in directories, leave out files whose name (or path below the "
             "directory) matches this pattern, e.g. 'LICENSE*'; repeatable",
    )
    group.add_argument(
        "--hidden", action="store_true",
        help="also read hidden files and folders inside directories (names starting "
             "with '.', such as .DS_Store); they are skipped by default",
    )
    group.add_argument(
        "--lines", action="store_true",
        help="make every non-blank line of every input file its own document",
    )
    group.add_argument(
        "--encoding", default="utf-8", metavar="NAME",
        help="encoding of every input, e.g. latin-1 (default: %(default)s)",
    )
    group.add_argument(
        "--encoding-errors", default="strict", choices=("strict", "replace", "ignore"),
        help="what to do with bytes that do not decode: strict stops with an error "
             "naming the file; replace and ignore carry on (default: %(default)s)",
    )


_METAVARS = {"word_vectors": "PATH", "stop_words": "FILE", "pos": "TAGS"}


def _add_fit_options(parser):
    defaults = SCDV().get_params()
    group = parser.add_argument_group(
        "SCDV parameters",
        "The same parameters as scdv.SCDV, with the library's defaults.",
    )
    for name, (kind, choices, text) in FIT_PARAMETERS.items():
        if name == "random_state":
            text = (f"seed of word2vec and the Gaussian mixture (default: "
                    f"{CLI_RANDOM_STATE} on the command line, so that runs repeat; the "
                    f"library's default is {defaults[name]}, a fresh seed each time)")
        elif name == "n_jobs":
            text = f"{text} (default: every core)"
        elif name == "stop_words":
            text = f"{text} (default: the tokenizer's list)"
        elif name == "pos":
            text = f"{text} (default: 名詞,動詞,形容詞)"
        else:
            text = f"{text} (default: {defaults[name]})"
        if kind is bool:
            # --x and --no-x: a default that is on can be turned off too.
            group.add_argument(_option(name), dest=name,
                               action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=text)
            continue
        group.add_argument(
            _option(name), dest=name, type=kind, choices=choices,
            default=argparse.SUPPRESS,  # absent from args unless given
            metavar=None if choices else _METAVARS.get(
                name, "N" if kind in (int, _int_option) else "X"),
            help=text,
        )


def _add_common_options(parser):
    group = parser.add_argument_group("behaviour")
    group.add_argument("--force", action="store_true",
                       help="overwrite outputs that already exist (regular files only: "
                            "a FIFO, device, socket, symbolic link or directory is "
                            "always refused)")
    group.add_argument("-q", "--quiet", action="store_true",
                       help="no progress bars, warnings or summary on stderr "
                            "(bars are shown only when stderr is a terminal)")
    group.add_argument("-h", "--help", action="help",
                       help="show this help message and exit")


EXIT_STATUS = """\
exit status:
  0 success; 1 bad data (missing or undecodable input, no documents, vocabulary
  too small for the clusters, bad model file, output exists without --force,
  dense output too large, an output that is not a regular file); 2 bad usage
  (unknown option, value out of range); 130 interrupted (Ctrl-C); 143 SIGTERM,
  129 SIGHUP. Errors are one line on stderr, starting 'scdv: error: '. On any
  failure no output file is created or changed."""

VECTORIZE_DESCRIPTION = """\
Turn documents into SCDV vectors. Without --model, fit SCDV on the inputs and
write their vectors; with --model, load a saved model and only transform."""

VECTORIZE_EPILOG = f"""\
outputs:
  Row i of OUT is the i-th document in input order. The document ids (the file
  path; PATH:LINE with --lines; -:LINE for standard input; lines count from 1)
  go to the manifest OUT.ids.jsonl, e.g. vectors.npz.ids.jsonl: JSON lines in
  ASCII, first a header {{"format": "scdv-ids", "version": 1, "vectors": NAME,
  "rows": N, "sha256": HEX}} naming the vectors file it belongs to, then one JSON
  string per row. With -o - the rows go to standard output as {STDOUT_FORMAT}
  and the ids are not written anywhere. Files are written as .NAME.RANDOM.part
  beside each output and renamed into place (the manifest last), so they are
  never left half-written; only after a kill -9 may such a file remain, to
  delete. Only regular files are replaced: a FIFO, device, socket, symbolic
  link or directory in the way is refused.

examples:
  # fit on a folder (one document per file); vectors.npz and vectors.npz.ids.jsonl
  scdv vectorize corpus/ -o vectors.npz

  # small, fast settings; latin-1 text; keep the fitted model
  scdv vectorize corpus/ -o train.npz --save-model model.scdv \\
      --vector-size 50 --n-components 8 --min-count 3 --epochs 2 --encoding latin-1

  # vectorise new documents with a saved model
  scdv vectorize --model model.scdv new/ -o new.npz

  # one document per line from standard input, svmlight to standard output
  cat questions.txt | scdv vectorize --model model.scdv - -o - > questions.svm

  # read back in Python:  scipy.sparse.load_npz("vectors.npz")
  #   ids: header, *ids = map(json.loads, open("vectors.npz.ids.jsonl"))
  #   or scdv.commands.read_ids("vectors.npz.ids.jsonl"), which checks the pair
  #   svmlight: load_svmlight_file(path, zero_based=True, n_features=K*d)
  #   (its defaults guess one-based features and drop trailing empty columns)

{EXIT_STATUS}
"""

FIT_DESCRIPTION = """\
Fit SCDV on documents and save the model in scdv's format (plain arrays and
JSON, no pickle), for 'scdv vectorize --model' or scdv.load()."""

FIT_EPILOG = f"""\
examples:
  scdv fit corpus/ -o model.scdv
  scdv fit --lines sentences.txt -o model.scdv --vector-size 100 --n-components 20
  scdv vectorize --model model.scdv corpus/ -o vectors.npz

{EXIT_STATUS}
"""

MAIN_EPILOG = """\
examples:
  scdv vectorize corpus/ -o vectors.npz
  scdv fit corpus/ -o model.scdv
  scdv vectorize --model model.scdv new/ -o new.npz

Run 'scdv COMMAND --help' for a command's options."""


def _names(wanted):
    # "npy", or "a or b": the registry's formats for which wanted(format) holds.
    return " or ".join(f.name for f in _io.OUTPUT_FORMATS.values() if wanted(f))


def _format_help():
    """The help of --format, from the registry: what each format holds and when
    it is the default, so that a new format needs no change here."""
    streaming = [f for f in _io.OUTPUT_FORMATS.values() if f.streams]
    parts = []
    for fmt in _io.OUTPUT_FORMATS.values():
        notes = []
        if fmt.name == FILE_FORMAT:
            notes.append("the default")
        if fmt.name == STDOUT_FORMAT:
            notes.append("the default and only choice with -o -" if len(streaming) == 1
                         else "the default with -o -")
        elif fmt.streams:
            notes.append("also with -o -")
        if fmt.dense:
            notes.append("see --max-dense-mb")
        said = f" ({'; '.join(notes)})" if notes else ""
        parts.append(f"{fmt.name}: {fmt.help}{said}")
    return "; ".join(parts)


def build_parser():
    """The argument parser of the ``scdv`` command, with its subcommands."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG, formatter_class=formatter, epilog=MAIN_EPILOG,
        description="Sparse Composite Document Vectors (SCDV) from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    vec = commands.add_parser(
        "vectorize", help="write the SCDV vectors of documents",
        description=VECTORIZE_DESCRIPTION, epilog=VECTORIZE_EPILOG,
        formatter_class=formatter, add_help=False, intermixed=True,
    )
    _add_input_options(vec)
    out = vec.add_argument_group("output")
    out.add_argument("-o", "--output", required=True, metavar="OUT",
                     help=f"the vectors file, or - for {STDOUT_FORMAT} on standard "
                          f"output; the ids go to OUT{_io.IDS_SUFFIX}")
    # Read from the registry when the parser is built, so a new entry is a new choice.
    out.add_argument("--format", choices=tuple(_io.OUTPUT_FORMATS), default=None,
                     help=_format_help())
    out.add_argument("--max-dense-mb", type=_positive_float, default=1024, metavar="MB",
                     help=f"refuse --format {_names(lambda f: f.dense)} when the array "
                          "would exceed this many MiB (default: %(default)s); checked "
                          "before fitting")
    out.add_argument("--model", metavar="MODEL",
                     help="load this saved model and only transform (no fitting; the "
                          "SCDV parameters below, except --batch-size and --n-jobs, do not "
                          "apply)")
    out.add_argument("--save-model", metavar="PATH",
                     help="also save the model fitted on the inputs here")
    out.add_argument("--scheduler", metavar="ADDRESS",
                     help="fit and vectorise on the Dask scheduler at ADDRESS (e.g. "
                          "tcp://10.0.0.5:8786); needs pip install 'scdv[dask]'")
    _add_fit_options(vec)
    _add_common_options(vec)
    vec.set_defaults(func=cmd_vectorize)

    fit = commands.add_parser(
        "fit", help="fit SCDV on documents and save the model",
        description=FIT_DESCRIPTION, epilog=FIT_EPILOG,
        formatter_class=formatter, add_help=False, intermixed=True,
    )
    _add_input_options(fit)
    out = fit.add_argument_group("output")
    out.add_argument("-o", "--output", required=True, metavar="MODEL",
                     help="where to save the fitted model")
    _add_fit_options(fit)
    _add_common_options(fit)
    fit.set_defaults(func=cmd_fit)
    return parser


# ---------------------------------------------------------------------------
# Messages


#: Control characters a one-line message keeps as whitespace: collapsed to spaces.
_LINE_BREAKS = "\t\n\r"


def _one_line(message):
    """``message`` as one line that is safe to print on a terminal.

    Control characters (an escape sequence in a file name or in text from a
    model file) become ``\\xNN`` escapes, so they reach the terminal as text
    instead of acting on it; tabs, line breaks and other spaces collapse to
    one space.
    """
    text = "".join(
        f"\\x{ord(c):02x}" if c not in _LINE_BREAKS and unicodedata.category(c) == "Cc"
        else c for c in str(message))
    return " ".join(text.split())


def _show(path):
    return repr(os.fspath(path))


def _info(args, message):
    if not args.quiet:
        print(f"{PROG}: {_one_line(message)}", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)


# ---------------------------------------------------------------------------
# Checks made before anything expensive


def _fit_params(args):
    """SCDV parameters from the options given, the library's defaults otherwise."""
    params = SCDV().get_params()
    params["random_state"] = CLI_RANDOM_STATE
    for name in FIT_PARAMETERS:
        if hasattr(args, name):
            params[name] = getattr(args, name)
    params["verbose"] = 0 if args.quiet else 1
    return params


def _typeable(constraints):
    """The parts of scikit-learn constraints a command-line value can meet, as words."""
    parts = []
    for constraint in constraints:
        inner = getattr(constraint, "_constraints", None)  # "random_state", "boolean"
        if inner is not None:
            parts.extend(_typeable(inner))
        elif isinstance(constraint, Interval) or (
                isinstance(constraint, Options) and constraint.type is str):
            parts.append(str(constraint))
        elif isinstance(constraint, Options):
            parts.append(" or ".join(repr(o) for o in sorted(constraint.options)))
    return parts


def _check_option_values(args):
    """Refuse option values outside ``SCDV._parameter_constraints``, naming the option.

    The same constraints the library checks, tried on the values as typed,
    so that the message names ``--n-components`` rather than the parameter.
    """
    for name in FIT_PARAMETERS:
        spec = SCDV._parameter_constraints.get(name, "no_validation")
        if not hasattr(args, name) or spec == "no_validation":
            continue
        value = getattr(args, name)
        constraints = [make_constraint(c) for c in spec]
        if any(c.is_satisfied_by(value) for c in constraints):
            continue
        words = _typeable(constraints) or [str(c) for c in constraints]
        raise UsageError(f"argument {_option(name)}: must be {' or '.join(words)}; "
                         f"got {value!r}")


def _checked_model(params):
    """An unfitted SCDV with ``params``.

    Every option given was checked against ``SCDV._parameter_constraints``
    by :func:`_check_option_values`, and the rest are the library's
    defaults, so ``fit`` validates them again without finding anything.
    """
    return SCDV(**params)


def _check_inputs_usage(args):
    if sum(item == STDIO for item in args.inputs) > 1:
        raise UsageError("standard input '-' can be given only once")
    try:
        info = codecs.lookup(args.encoding)
    except LookupError:
        raise UsageError(f"argument --encoding: unknown encoding {args.encoding!r}") from None
    if not getattr(info, "_is_text_encoding", True):  # rot13, base64, zip, ...
        raise UsageError(f"argument --encoding: {args.encoding!r} is not a text encoding")


def _check_target_kind(path, what, force):
    # The writer refuses these too; here they cost no fit.
    if not os.path.basename(path):
        raise DataError(f"{what} {_show(path)} names a directory (it ends with a "
                        "separator); give a file name")
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return
    if stat.S_ISDIR(mode):
        raise DataError(f"{what} {_show(path)} is a directory; give a file name")
    if not stat.S_ISREG(mode):
        raise DataError(f"{what} {_show(path)} is {_atomic.file_kind(mode)}, not a "
                        "regular file; scdv replaces only regular files, so give "
                        "another name")
    if not force:
        raise DataError(f"{what} {_show(path)} already exists; use --force to "
                        "overwrite it")


def _check_targets(targets, force):
    """Refuse, before any work, outputs that exist or cannot be created.

    ``targets`` is a list of (output path, description used in messages).
    """
    seen = {}
    for path, what in targets:
        real = os.path.realpath(path)
        if real in seen:
            raise UsageError(f"{what} {_show(path)} is the same file as {seen[real]}")
        seen[real] = f"{what} {_show(path)}"
    for path, what in targets:
        _check_target_kind(path, what, force)
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise DataError(f"cannot write {what} {_show(path)}: directory "
                            f"{_show(directory)} does not exist")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise DataError(f"cannot write {what} {_show(path)}: no permission to "
                            f"create files in {_show(directory)}")
        size, limit = len(os.fsencode(os.path.basename(path))), _atomic.name_max(directory)
        if size > limit:
            raise DataError(f"cannot write {what} {_show(path)}: its name is {size} bytes "
                            f"long, over the file system's limit of {limit}")


def _read(args, targets):
    """Documents and ids from the inputs; refuses inputs that are also outputs."""
    sources = _io.expand_inputs(args.inputs, include=args.include, exclude=args.exclude,
                                hidden=args.hidden)
    outputs = {os.path.realpath(p): (p, what) for p, what in targets}
    for source in sources:
        if source != STDIO and os.path.realpath(source) in outputs:
            path, what = outputs[os.path.realpath(source)]
            raise UsageError(f"{what} {_show(path)} is also an input; write it outside "
                             "the input directories")
    texts, ids = _io.read_documents(
        sources, lines=args.lines, encoding=args.encoding, errors=args.encoding_errors,
        verbose=0 if args.quiet else 1,
    )
    if not any(text.strip() for text in texts):
        where = ", ".join(_show(p) for p in args.inputs)
        if not sources:
            found = "no regular files"
            if args.include or args.exclude:
                found += " that --glob and --exclude select"
        else:
            found = f"{len(sources):,} input{'s' if len(sources) > 1 else ''}, all empty"
        raise DataError(f"no documents to read in {where} ({found}); give files with text")
    return texts, ids


@contextlib.contextmanager
def _fit_errors(args, fitting=True):
    """Report the library's complaints about the documents and parameters.

    A parameter the library refuses (``InvalidParameterError``, e.g.
    transform's own check of ``--n-jobs``) is bad usage. Only around a fit,
    a ValueError is about the documents (empty vocabulary, too few words for
    the clusters) and is shown as the library says it, and an OverflowError
    comes from a number too large for word2vec or the mixture; from
    anywhere else either would be a bug, and is left to say so.
    """
    try:
        yield
    except InvalidParameterError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        if not fitting:
            raise
        raise DataError(str(exc)) from None
    except OverflowError as exc:
        if not fitting:
            raise
        numbers = [_option(name) for name, (kind, _, _) in FIT_PARAMETERS.items()
                   if hasattr(args, name) and kind in (_int_option, _finite_float)]
        advice = f"; give smaller values of {', '.join(numbers)}" if numbers else ""
        raise UsageError(f"a number is too large for the fit ({exc}){advice}") from None


def _connect(address):
    """A client of the Dask scheduler at ``address``, or the error to report."""
    try:
        return commands.connect(address)
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'scdv[dask]'") from None
    except ValueError as exc:  # malformed address
        raise UsageError(f"argument --scheduler: {exc}; give an address such as "
                         "tcp://10.0.0.5:8786") from None
    except (OSError, TimeoutError) as exc:
        raise DataError(f"cannot reach the Dask scheduler at {address!r} ({exc}); check "
                        "the address and that the scheduler is running") from None


def _model_summary(model):
    return (f"{len(model.vocabulary_):,} words, {model.n_components} clusters x "
            f"{model.vector_size} dimensions")


# ---------------------------------------------------------------------------
# vectorize, step by step


def _output_format(args):
    """The format to write, checked against -o."""
    fmt = args.format or _io.default_format(args.output)
    if args.output == STDIO and not _io.OUTPUT_FORMATS[fmt].streams:
        raise UsageError(f"-o - writes {_names(lambda f: f.streams)} to standard output; "
                         f"--format {fmt} needs a file name")
    return fmt


def _check_model_options(args):
    """Refuse options that --model (no fitting) makes meaningless."""
    if args.model is not None:
        given = [name for name in FIT_PARAMETERS if hasattr(args, name)]
        fit_only = [_option(n) for n in given if n not in TRANSFORM_PARAMETERS]
        if fit_only:
            raise UsageError(f"{', '.join(fit_only)} only apply when fitting; drop "
                             f"{'them' if len(fit_only) > 1 else 'it'} or drop --model")
        if args.save_model is not None:
            raise UsageError("--save-model saves a model fitted here; with --model "
                             "nothing is fitted")
    if args.save_model == STDIO:
        raise UsageError("--save-model needs a file name, not -")


def _check_stdout(args):
    """Refuse ``-o -`` when standard output is closed (``>&-``), before any work."""
    if args.output == STDIO and (sys.stdout is None
                                 or getattr(sys.stdout, "buffer", None) is None):
        raise DataError("-o - writes to standard output, but it is closed; redirect it "
                        "(> FILE) or give a file name")


def _vectorize_targets(args):
    """The files vectorize will write, with the names messages give them."""
    targets = []
    if args.output != STDIO:
        targets += [(args.output, "output"), (_io.ids_path(args.output), "ids file")]
    if args.save_model is not None:
        targets.append((args.save_model, "model file"))
    return targets


def _load_model(args, verbose):
    params = {name: getattr(args, name) for name in TRANSFORM_PARAMETERS
              if hasattr(args, name)}
    try:
        return commands.load_model(args.model, verbose=verbose, **params)
    except ModelFormatError:
        raise  # a ValueError too, reported by main as it stands
    except ValueError as exc:  # fitted in Python on token lists; we only have text
        raise DataError(f"{str(exc).rstrip('.')}; fit one with 'scdv fit', or vectorise "
                        "token lists from Python.") from None


def _check_dense_size(fmt, n_rows, width, max_mb):
    """Refuse, before fitting, a dense output larger than --max-dense-mb."""
    if not _io.OUTPUT_FORMATS[fmt].dense:
        return
    need = _io.dense_nbytes(n_rows, width)
    if need > max_mb * MIB:
        raise DataError(
            f"a dense {n_rows:,} x {width:,} float32 array needs {need / MIB:,.1f} MiB, "
            f"over --max-dense-mb {max_mb:g}; use --format {FILE_FORMAT}, or raise "
            "--max-dense-mb")


def _vectorize(args, model, texts):
    """(X, model): fit unless --model, here or on --scheduler."""
    fit = args.model is None
    with _fit_errors(args, fit):
        if not args.scheduler:
            return commands.vectorize(model, texts, fit=fit)
        with _connect(args.scheduler) as client:  # closed at the end of the block
            return commands.vectorize(model, texts, fit=fit, client=client)


def _vectorize_summary(args, X, fmt, sidecar, model):
    spec = _io.OUTPUT_FORMATS[fmt]
    where = "standard output (ids not written)" if args.output == STDIO else args.output
    message = (f"wrote {X.shape[0]:,} x {X.shape[1]:,} {spec.summary} ({X.nnz:,} "
               f"non-zeros) to {where}")
    if sidecar is not None:
        message += f"; ids in {sidecar}"
    if spec.read_back:  # the number of features, which the reader cannot guess
        path = "FILE" if args.output == STDIO else repr(args.output)
        message += "; read it with " + spec.read_back.format(path=path,
                                                             n_features=X.shape[1])
    if args.save_model is not None:
        message += f"; model ({_model_summary(model)}) in {args.save_model}"
    return message


# ---------------------------------------------------------------------------
# Commands


def cmd_vectorize(args):
    """``scdv vectorize``: fit (or load) a model and write the inputs' vectors.

    Every check that needs no documents runs before they are read, and the
    dense-size check before fitting, so that a mistake costs no fit.
    """
    fmt = _output_format(args)
    _check_model_options(args)
    _check_inputs_usage(args)
    _check_option_values(args)
    params = _fit_params(args)
    model = _checked_model(params) if args.model is None else None
    targets = _vectorize_targets(args)
    _check_targets(targets, args.force)
    _check_stdout(args)
    if args.model is not None:
        model = _load_model(args, params["verbose"])
    texts, ids = _read(args, targets)
    _check_dense_size(fmt, len(texts), commands.n_features(model), args.max_dense_mb)
    X, model = _vectorize(args, model, texts)
    sidecar = commands.write_outputs(X, args.output, fmt, ids, model=model,
                                     model_path=args.save_model, force=args.force)
    zero = _io.zero_rows_warning(texts, ids, X)
    if zero is not None and not args.quiet:
        print(f"{PROG}: warning: {_one_line(zero)}", file=sys.stderr)  # ids are names
    _info(args, _vectorize_summary(args, X, fmt, sidecar, model))
    return EXIT_OK


def cmd_fit(args):
    """``scdv fit``: fit SCDV on the inputs and save the model."""
    if args.output == STDIO:
        raise UsageError("argument -o/--output: the model needs a file name, not -")
    _check_inputs_usage(args)
    _check_option_values(args)
    model = _checked_model(_fit_params(args))
    targets = [(args.output, "model file")]
    _check_targets(targets, args.force)
    texts, _ = _read(args, targets)
    with _fit_errors(args):
        model.fit(texts)
    commands.save_model(model, args.output, force=args.force)
    _info(args, f"fitted on {len(texts):,} documents; saved model "
                f"({_model_summary(model)}) to {args.output}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# Entry point


def _error(message, status):
    text = _one_line(message)  # always one line, and no escape sequences
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]  # "scdv: error: no such file ..."
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return status


@contextlib.contextmanager
def _step_messages(enabled):
    """Show the library's INFO log lines (word2vec, GMM steps) as progress notes.

    Only when stderr is a terminal, like the progress bars: the mixture has
    no bar of its own, and these lines say which step is running.
    """
    logger = logging.getLogger("scdv")
    if not (enabled and sys.stderr.isatty()):
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
    handler.setLevel(logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C, so every temporary goes.

    A KeyboardInterrupt, because that is what the writers' cleanup (and any
    ``except Exception`` in between) already lets through untouched.

    Attributes
    ----------
    signum : int
    """

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


#: The signals that stop a command the way kill, timeout, systemd and docker do.
TERMINATING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                            if hasattr(signal, name))


@contextlib.contextmanager
def _terminating_signals():
    """Turn SIGTERM and SIGHUP into :class:`Terminated` while the block runs.

    The previous handlers come back afterwards. A signal that is ignored
    (``nohup`` ignores SIGHUP) stays ignored, and only the main thread can
    set handlers (``main`` may run in another one, as in the tests).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def terminate(signum, frame):
        # Once: a second signal must not cut the cleanup of the first short.
        for other in previous:
            signal.signal(other, signal.SIG_IGN)
        raise Terminated(signum)

    try:
        for signum in TERMINATING_SIGNALS:
            handler = signal.getsignal(signum)
            if handler == signal.SIG_IGN:
                continue
            previous[signum] = handler
            signal.signal(signum, terminate)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _signal_name(signum):
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _silence_stdout():
    # After a broken pipe, keep Python's final flush of stdout from failing again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _run(args):
    """Run the command; its errors become one line on stderr and an exit status."""
    try:
        return args.func(args)
    except UsageError as exc:
        return _error(exc, EXIT_USAGE)
    except (DataError, _io.InputError) as exc:
        message = str(exc)
        if getattr(exc, "reason", None) == "decode":
            example = exc.encodings[0] if getattr(exc, "encodings", ()) else "latin-1"
            message += (f" Give the right --encoding (e.g. --encoding {example}), or "
                        "--encoding-errors replace to carry on.")
        return _error(message, EXIT_DATA)
    except ModelFormatError as exc:
        return _error(exc, EXIT_DATA)
    except FileExistsError as exc:
        return _error(f"{exc} Use --force to overwrite it.", EXIT_DATA)
    except Terminated as exc:
        return _error(f"terminated by {_signal_name(exc.signum)}; nothing was written",
                      128 + exc.signum)
    except KeyboardInterrupt:
        return _error("interrupted; nothing was written", EXIT_INTERRUPTED)
    except BrokenPipeError:  # e.g. "scdv vectorize ... -o - | head"
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except MemoryError:
        return _error("out of memory; use fewer documents, a smaller --vector-size "
                      "or --n-components, or a smaller --batch-size", EXIT_DATA)
    except OSError as exc:
        where = f" {_show(exc.filename)}" if exc.filename else ""
        return _error(f"cannot write{where}: {exc.strerror or exc}", EXIT_DATA)
    except Exception as exc:
        if os.environ.get("SCDV_DEBUG"):
            raise
        return _error(f"unexpected {type(exc).__name__}: {exc} (this is a bug in "
                      "scdv; set SCDV_DEBUG=1 for the traceback)", EXIT_DATA)


def main(argv=None):
    """Run the ``scdv`` command with ``argv`` (default ``sys.argv[1:]``).

    SIGTERM and SIGHUP stop the command as Ctrl-C does: every temporary is
    removed, nothing is written, and the status is 128 + the signal's number.
    The previous handlers are restored before returning.

    Returns
    -------
    int
        The exit status: 0 success, 1 bad data, 2 bad usage, 130 interrupted,
        143 SIGTERM, 129 SIGHUP.
    """
    argv = sys.argv[1:] if argv is None else [os.fspath(a) for a in argv]
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        message = str(exc)
        command = next((a for a in argv if a in COMMANDS), None)
        if command:  # the top-level parser reports unknown options of a command
            message = message.replace(f"'{PROG} --help'", f"'{PROG} {command} --help'")
        return _error(message, EXIT_USAGE)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except KeyboardInterrupt:
        return _error("interrupted; nothing was written", EXIT_INTERRUPTED)

    try:
        with warnings.catch_warnings(), _step_messages(not args.quiet), \
                _terminating_signals():
            # Library warnings (e.g. a mixture that did not converge) become one line;
            # deprecation noise from dependencies is not the user's business.
            warnings.simplefilter("ignore")
            if not args.quiet:
                warnings.filterwarnings("default", category=UserWarning)
                warnings.filterwarnings("default", category=RuntimeWarning)
            warnings.showwarning = _show_warning
            return _run(args)
    except Terminated as exc:  # arrived just as the handlers were being put back
        return _error(f"terminated by {_signal_name(exc.signum)}", 128 + exc.signum)
