"""template.yaml's AWS::ServerlessRepo::Application metadata: what `sam publish` would send.

The limits are the Serverless Application Repository's (SAM developer guide, "AWS SAM
template Metadata section properties"; the same texts are in botocore's serverlessrepo
model, CreateApplicationRequest).
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from tests.infrastructure.cfn import ROOT, raw_template


def _application() -> dict[str, Any]:
    application: dict[str, Any] = raw_template()["Metadata"]["AWS::ServerlessRepo::Application"]
    return application


def test_the_application_has_what_the_repository_requires() -> None:
    app = _application()
    assert re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", app["Name"])
    assert 1 <= len(app["Description"]) <= 256
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", app["Author"]) and len(app["Author"]) <= 127
    assert len(app["Labels"]) <= 10
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in app["Labels"])
    assert not any(isinstance(v, dict) for v in app.values())  # intrinsic functions are not supported


def test_the_published_version_is_the_package_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    assert _application()["SemanticVersion"] == version


def test_the_readme_it_points_at_exists() -> None:
    assert (ROOT / _application()["ReadmeUrl"]).is_file()
