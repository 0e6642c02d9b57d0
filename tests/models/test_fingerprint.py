"""The library's one fingerprint: which files each scope covers."""

from rare_earth_lib.build import pipeline, state
from rare_earth_lib.models import discovery
from rare_earth_lib.models.fingerprint import library_hash


def _package(tmp_path):
    root = tmp_path / "pkg"
    (root / "data").mkdir(parents=True)
    (root / "models" / "discovery").mkdir(parents=True)
    (root / "a.py").write_text("x = 1\n")
    (root / "data" / "datapackage.json").write_text("{}\n")
    (root / "data" / "plants.csv").write_text("id\n1\n")
    (root / "models" / "discovery" / "b.py").write_text("y = 1\n")
    return root


def test_tables_count_unless_left_out(tmp_path):
    root = _package(tmp_path)
    whole, code = library_hash(root=root), library_hash(root=root, tables=False)
    (root / "data" / "plants.csv").write_text("id\n2\n")
    assert library_hash(root=root) != whole
    assert library_hash(root=root, tables=False) == code
    (root / "data" / "datapackage.json").write_text('{"name": "x"}\n')
    assert library_hash(root=root, tables=False) != code


def test_parts_and_exclusions_bound_the_scope(tmp_path):
    root = _package(tmp_path)
    scoped = library_hash(["a.py", "models"], root=root, exclude=("models/discovery",))
    (root / "models" / "discovery" / "b.py").write_text("y = 2\n")
    (root / "data" / "plants.csv").write_text("id\n2\n")
    assert library_hash(["a.py", "models"], root=root, exclude=("models/discovery",)) == scoped
    (root / "a.py").write_text("x = 2\n")
    assert library_hash(["a.py", "models"], root=root, exclude=("models/discovery",)) != scoped


def test_compiled_files_never_count(tmp_path):
    root = _package(tmp_path)
    before = library_hash(root=root)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert library_hash(root=root) == before


def test_one_definition_used_by_the_build_and_discovery():
    assert discovery.library_hash is library_hash
    assert pipeline.library_hash is library_hash
    assert not hasattr(state, "library_hash")
