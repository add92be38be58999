"""Build the restore function's Lambda zip for the function's runtime and architecture, not the
build host's: this package (without the CLI and the moto stand-ins) and pydantic, whose compiled
core must match the Lambda's Python and CPU. pip fetches the wheels for that platform only
(`--platform manylinux2014_* --only-binary=:all:`); boto3 and botocore come with the Lambda
Python runtime and are not bundled. The zip records what it was built for in
`breakglass-build.json`, which `check` compares with the deployed function.

The defaults are what `terraform/modules/control-plane` deploys: its `lambda-runtime.json` holds
the same runtime and architecture (a test keeps them equal)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from breakglass_aws.errors import ConfigError, UsageError

if TYPE_CHECKING:  # subprocess, zipfile and importlib.metadata load only when a zip is built or read
    import subprocess

    Pip = Callable[[list[str]], subprocess.CompletedProcess[str]]

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_ARCHITECTURE",
    "DEFAULT_PYTHON",
    "HANDLER",
    "PYTHON_VERSIONS",
    "RECORD_NAME",
    "ZIP_NAME",
    "BuildRecord",
    "build_lambda_zip",
    "read_build_record",
]

ZIP_NAME = "breakglass-restore.zip"
RECORD_NAME = "breakglass-build.json"
HANDLER = "breakglass_aws.lambda_handler.handler"
DEFAULT_PYTHON = "3.11"  # = terraform/modules/control-plane/lambda-runtime.json "runtime"
DEFAULT_ARCHITECTURE = "x86_64"  # = its "architecture"
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")  # Lambda Python runtimes this package runs on
# Lambda's architecture name -> pip's platform tag (Amazon Linux's glibc is newer than manylinux2014's)
ARCHITECTURES = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# Installed from the registry for the target, each pinned to the version installed here (the one tested).
# pydantic for the models; cryptography, pycryptodome and pyrage for custody (the rotations the
# function finishes seal the credentials) and the signatures.
DISTRIBUTIONS = (
    "pydantic",
    "pydantic-core",
    "typing-extensions",
    "annotated-types",
    "typing-inspection",
    "cryptography",
    "cffi",
    "pycparser",
    "pycryptodome",
    "pyrage",
)
# Never in the function: the command line and the moto stand-ins for tests.
LEFT_OUT = ("cli/", "testing")  # testing.py, testing_root.py, testing_kit.py ...
DATE = (2020, 1, 1, 0, 0, 0)  # fixed: the same inputs give the same zip (and Terraform's code hash)


@dataclass(frozen=True)
class BuildRecord:
    """What a zip was built for (its `breakglass-build.json`)."""

    runtime: str  # the Lambda runtime, e.g. python3.11
    architecture: str  # the Lambda architecture: x86_64 or arm64
    breakglass_version: str
    platform: str = ""  # pip's platform tag of the compiled wheels
    handler: str = HANDLER
    distributions: dict[str, str] = field(default_factory=dict)  # bundled distribution -> version

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def read_build_record(data: bytes) -> BuildRecord | None:
    """The record inside a zip's bytes; None when the zip has none (built by an older breakglass)
    or is not a zip."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            raw = json.loads(archive.read(RECORD_NAME))
    except (KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("runtime", "architecture")):
        return None
    known = {k: v for k, v in raw.items() if k in BuildRecord.__dataclass_fields__}
    known.setdefault("breakglass_version", "unknown")
    return BuildRecord(**known)


def _target(python: str, architecture: str) -> tuple[str, str]:
    """(python version, pip platform tag), or a usage error naming the accepted values."""
    if python.removeprefix("python") not in PYTHON_VERSIONS:
        raise UsageError(
            f"--python {python}: the restore function runs on Python {', '.join(PYTHON_VERSIONS)}",
            f"e.g. --python {DEFAULT_PYTHON} (what terraform/modules/control-plane deploys)",
        )
    if architecture not in ARCHITECTURES:
        raise UsageError(
            f"--arch {architecture}: Lambda architectures are {' and '.join(ARCHITECTURES)}",
            f"e.g. --arch {DEFAULT_ARCHITECTURE} (what terraform/modules/control-plane deploys)",
        )
    return python.removeprefix("python"), ARCHITECTURES[architecture]


def _requirements() -> list[str]:
    """Each distribution pinned to the version installed here, the one the tests ran with."""
    from importlib import metadata

    pinned = []
    for name in DISTRIBUTIONS:
        try:
            pinned.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            if name == "pydantic":
                pinned.append("pydantic>=2.6,<3")
    return pinned


def _run_pip(args: list[str]) -> subprocess.CompletedProcess[str]:
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600, check=False
    )


def _install(folder: Path, python: str, platform: str, pip: Pip) -> None:
    import subprocess

    abi = "cp" + python.replace(".", "")
    args = ["install", "--quiet", "--disable-pip-version-check", "--no-compile", "--target", str(folder)]
    args += ["--platform", platform, "--implementation", "cp", "--python-version", python, "--abi", abi]
    args += ["--only-binary=:all:", *_requirements()]
    try:
        done = pip(args)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ConfigError(f"cannot run pip to fetch the wheels: {err}", "install pip in this Python") from err
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        last = next((line for line in reversed(lines) if line.startswith("ERROR")), lines[-1] if lines else "")
        raise ConfigError(
            f"pip could not fetch the wheels for Python {python} on {platform}: {last}",
            "pip needs the package registry, or PIP_INDEX_URL / PIP_FIND_LINKS naming a mirror that holds "
            f"{abi} {platform} wheels",
        )


def _package_files() -> Iterator[tuple[Path, str]]:
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if "__pycache__" not in path.parts and not relative.startswith(LEFT_OUT):
            yield path, f"breakglass_aws/{relative}"


def _installed_files(folder: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and "__pycache__" not in relative.parts and relative.parts[0] != "bin":
            yield path, relative.as_posix()


def _bundled(folder: Path) -> dict[str, str]:
    """Distribution -> version, from the .dist-info folders pip wrote."""
    found = {}
    for info in sorted(folder.glob("*.dist-info")):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def _write(target: Path, files: list[tuple[Path, str]], record: BuildRecord) -> None:
    import zipfile

    entries = sorted(
        [(arcname, path.read_bytes()) for path, arcname in files] + [(RECORD_NAME, record.to_json().encode())]
    )
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def build_lambda_zip(
    out: Path,
    python: str = DEFAULT_PYTHON,
    architecture: str = DEFAULT_ARCHITECTURE,
    *,
    version: str | None = None,
    pip: Pip = _run_pip,
) -> Path:
    """Write `out/breakglass-restore.zip` for the Lambda runtime `python<python>` on
    `architecture` and return its path. `version`: the breakglass version recorded in it (default:
    the installed distribution's)."""
    import tempfile
    from importlib import metadata

    python, platform = _target(python, architecture)
    if version is None:
        try:
            version = metadata.version("breakglass-aws")
        except metadata.PackageNotFoundError:
            version = "unknown"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="breakglass-lambda-") as scratch:
        folder = Path(scratch)
        _install(folder, python, platform, pip)
        record = BuildRecord(
            runtime=f"python{python}",
            architecture=architecture,
            breakglass_version=version,
            platform=platform,
            distributions=_bundled(folder),
        )
        target = out / ZIP_NAME
        _write(target, [*_package_files(), *_installed_files(folder)], record)
    return target
