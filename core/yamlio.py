"""The one reader of hand-edited YAML data (rubrics, scenarios, shapes, UN tables): plain data
only, bounded in size and alias expansion, duplicate keys refused, errors with a line number."""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import yaml

# libyaml's parser when PyYAML has it (the same safe constructor; several times faster)
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """SafeLoader that rejects duplicate keys (plain safe_load keeps the last silently)."""


def _construct_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


MAX_YAML_BYTES = 10 * 1024 * 1024  # hand-edited data: far below this; refuse before parsing
MAX_YAML_NODES = 1_000_000  # after aliases are expanded: bounds a "billion laughs" document
# Parsed documents kept by the digest of their text: the rubric's files are read again by every
# load_rubric (each command, each test), and parsing one costs 5-80 ms where a copy of the kept
# data costs well under 1 ms. Keyed by content, not by path or mtime, so an edited file is
# always parsed again (an edit within the file system's timestamp tick included).
CACHED_FILES = 64
CACHED_MAX_BYTES = 1024 * 1024  # larger documents are parsed every time
_parsed: OrderedDict[bytes, bytes] = OrderedDict()  # digest -> the data, pickled
_parsed_lock = threading.Lock()


class YamlFileError(Exception):
    """A data file that cannot be read as plain YAML; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(message if line is None else f"line {line}: {message}")


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes the document holds once every alias is expanded (shared nodes counted each time
    they are used), computed without expanding anything."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a recursive alias counts once
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(n, memo) for n in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[id(node)] = min(total, MAX_YAML_NODES + 1)
    return memo[id(node)]


def _read_text(path: Path) -> str:
    if path.is_dir():
        raise YamlFileError("is a directory, not a file")
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)  # bounded even for /dev/zero or a FIFO
    except FileNotFoundError:
        raise YamlFileError("file not found") from None
    except OSError as e:
        raise YamlFileError(f"cannot read: {e.strerror or e}") from None
    if len(raw) > MAX_YAML_BYTES:
        raise YamlFileError(f"file is larger than the {MAX_YAML_BYTES // 2**20} MB limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise YamlFileError(f"not valid UTF-8 (byte 0x{raw[e.start]:02x})", line) from None
    if not text.strip():
        raise YamlFileError("file is empty")
    return text


def _yaml_problem(e: yaml.YAMLError) -> YamlFileError:
    if not isinstance(e, yaml.MarkedYAMLError):
        return YamlFileError(f"YAML syntax error: {e}")
    mark = e.problem_mark or e.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = e.problem or str(e)
    if "constructor for the tag" in problem:  # !!python/object and friends
        return YamlFileError(f"YAML tag not allowed (plain data only): {problem}", line)
    return YamlFileError(f"YAML syntax error: {problem}", line)


def read_yaml_file(path: Path | str) -> Any:
    """Parse a hand-edited YAML data file defensively: size cap, UTF-8, safe tags only, no
    duplicate keys, bounded alias expansion. Raises YamlFileError (message + line). Each call
    returns data of its own (a caller may change it), also when the text was parsed before."""
    text = _read_text(Path(path))
    raw = text.encode("utf-8")
    if len(raw) > CACHED_MAX_BYTES:
        return _parse(text)
    digest = hashlib.sha256(raw).digest()
    with _parsed_lock:
        kept = _parsed.get(digest)
        if kept is not None:
            _parsed.move_to_end(digest)
    if kept is not None:
        return pickle.loads(kept)  # a fresh copy: aliases shared within it, as parsed
    data = _parse(text)  # a bad file raises here: errors are never kept
    try:
        kept = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except RecursionError:  # nested deeper than pickle goes: parsed every time
        return data
    with _parsed_lock:
        _parsed[digest] = kept
        while len(_parsed) > CACHED_FILES:
            _parsed.popitem(last=False)
    return data


def _parse(text: str) -> Any:
    loader = UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlFileError("file holds no YAML document (only comments?)")
        if _expanded_size(node, {}) > MAX_YAML_NODES:
            raise YamlFileError(f"aliases expand to more than {MAX_YAML_NODES:,} nodes "
                                "(an alias bomb?)")
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        raise _yaml_problem(e) from None
    except RecursionError:
        raise YamlFileError("nested too deeply") from None
    finally:
        loader.dispose()
