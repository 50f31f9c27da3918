"""rsbatch.sqlpaths: what the user typed → what the function reads; keys of uploaded files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rsbatch.sqlpaths import content_key, locate, run_names
from rsbatch_core.errors import SqlFileError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "sql" / "reports").mkdir(parents=True)
    (tmp_path / "sql" / "reports" / "mart.sql").write_text("SELECT 1;", "utf-8")
    return tmp_path / "sql"


@pytest.mark.parametrize(
    ("prefix", "folder"), [("", ""), ("team-a/", "team-a/"), ("team-a", "team-a/"), ("a/b/", "a/b/")]
)
def test_uploads_go_below_the_prefix_the_function_may_read(prefix: str, folder: str) -> None:
    key = content_key(b"SELECT 1;", prefix)
    assert key == f"{folder}rsbatch-uploads/{hashlib.sha256(b'SELECT 1;').hexdigest()}.sql"
    assert key.startswith(prefix)


def test_a_file_name_alone_finds_it_in_a_subfolder(root: Path) -> None:
    with pytest.raises(SqlFileError, match=r"did you mean reports/mart\.sql\?"):
        locate("mart.sql", sql_root=root, cwd=root.parent)


def test_names_unknown_here_go_to_aws_as_typed_when_not_strict(root: Path) -> None:
    assert locate("deployed/only.sql", sql_root=root, cwd=root, strict=False).name == "deployed/only.sql"
    assert locate("s3://b/k.sql", sql_root=root).name == "s3://b/k.sql"


def test_nothing_is_uploaded_when_one_file_has_no_bucket(root: Path, tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("SELECT 1;", "utf-8")
    args = [locate(str(tmp_path / "a.sql"), sql_root=root), locate("reports/mart.sql", sql_root=root)]

    class NoS3:
        def put_object(self, **_: object) -> None:
            raise AssertionError("uploaded without a bucket")

    with pytest.raises(SqlFileError, match="no SQL bucket is configured"):
        run_names(args, s3=NoS3(), bucket=None)
