"""Which optional parts of rsbatch are installed: the local stack comes with the `local` extra.

`pip install rsbatch` is the operator CLI alone (AWS only); `pip install 'rsbatch[local]'`
adds the local stack. A local command run without it says so instead of a traceback.
The extra's requirements are read from the installed package's own metadata.
"""

from __future__ import annotations

import re
from importlib import metadata

from rsbatch_core.errors import BadInputError

LOCAL_EXTRA = "local"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def extra_requirements(extra: str, *, package: str = "rsbatch") -> list[str]:
    """The distribution names an extra adds (from `Requires-Dist: …; extra == "…"`)."""
    marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    names: list[str] = []
    for requirement in metadata.requires(package) or []:
        spec, _, markers = requirement.partition(";")
        name = _NAME.match(spec.strip())
        if name and marker.search(markers):
            names.append(name.group(0))
    return names


def missing(extra: str) -> list[str]:
    """The extra's distributions that are not installed."""
    absent: list[str] = []
    for name in extra_requirements(extra):
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            absent.append(name)
    return absent


def require_local(command: str) -> None:
    """Refuse a local-stack command, naming the extra, when its dependencies are not installed."""
    absent = missing(LOCAL_EXTRA)
    if absent:
        raise BadInputError(
            f"`{command}` needs the local stack, which is not installed (missing {', '.join(absent)}): "
            f"pip install 'rsbatch[{LOCAL_EXTRA}]'"
        )
