"""Build the restore function's Lambda zip: this package and pydantic (botocore is in the
Lambda Python runtime). Built in Python: no extra Terraform provider is needed."""

from __future__ import annotations

import zipfile
from importlib import metadata
from pathlib import Path

__all__ = ["ZIP_NAME", "build_lambda_zip"]

ZIP_NAME = "breakglass-restore.zip"
DISTRIBUTIONS = ("pydantic", "pydantic-core", "typing-extensions", "annotated-types", "typing-inspection")
SKIP_PARTS = ("__pycache__", ".dist-info", "cli/")


def _package_files() -> list[tuple[Path, str]]:
    root = Path(__file__).resolve().parent
    return [
        (p, f"breakglass_aws/{p.relative_to(root).as_posix()}")
        for p in sorted(root.rglob("*.py"))
        if "__pycache__" not in p.parts and p.relative_to(root).parts[0] != "cli"
    ]


def _distribution_files(name: str) -> list[tuple[Path, str]]:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return []
    found = []
    for entry in dist.files or []:
        arcname = entry.as_posix()
        if any(part in arcname for part in SKIP_PARTS) or arcname.startswith(".."):
            continue
        found.append((Path(str(dist.locate_file(entry))), arcname))
    return found


def build_lambda_zip(out: Path) -> Path:
    """Write `out/breakglass-restore.zip` and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / ZIP_NAME
    files = _package_files() + [f for name in DISTRIBUTIONS for f in _distribution_files(name)]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, arcname in files:
            if path.is_file():
                info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes())
    return target
