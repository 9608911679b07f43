"""core.yamlio keeps the documents it parsed, by content (the rubric is read by every command
and test): a read after the first must give what parsing would give, as data of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import yamlio
from core.yamlio import YamlFileError, read_yaml_file


def test_a_second_read_is_equal_data_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("services:\n  - {id: s1, weight: 1.5}\n", encoding="utf-8")
    first = read_yaml_file(path)
    first["services"][0]["id"] = "changed by a caller"
    second, third = read_yaml_file(path), read_yaml_file(path)
    assert second == third == {"services": [{"id": "s1", "weight": 1.5}]}
    assert second is not third and second["services"] is not third["services"]


def test_an_edit_is_read_at_once_whatever_the_timestamps(tmp_path: Path) -> None:
    """Same size, same second (and likely the same mtime tick): the new text is what counts."""
    path = tmp_path / "a.yaml"
    values = []
    for n in range(5):
        path.write_text(f"value: {n}\n", encoding="utf-8")
        values.append(read_yaml_file(path)["value"])
    assert values == [0, 1, 2, 3, 4]


def test_the_same_text_under_two_names_gives_two_copies(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    for path in (a, b):
        path.write_text("x: [1, 2]\n", encoding="utf-8")
    first, second = read_yaml_file(a), read_yaml_file(b)
    assert first == second and first["x"] is not second["x"]


def test_aliases_stay_shared_within_a_kept_copy(tmp_path: Path) -> None:
    """As the parser gives them: an alias is the anchored object itself."""
    path = tmp_path / "a.yaml"
    path.write_text("base: &b [1]\nother: *b\n", encoding="utf-8")
    for _ in range(2):
        data = read_yaml_file(path)
        assert data["base"] is data["other"]


def test_a_bad_file_fails_every_time(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\na: 2\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(YamlFileError, match="duplicate key 'a'"):
            read_yaml_file(path)


def test_the_kept_documents_are_bounded(tmp_path: Path) -> None:
    for n in range(yamlio.CACHED_FILES + 5):
        path = tmp_path / f"{n}.yaml"
        path.write_text(f"n: {n}\n", encoding="utf-8")
        assert read_yaml_file(path) == {"n": n}
    assert len(yamlio._parsed) <= yamlio.CACHED_FILES
