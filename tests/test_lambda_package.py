"""`breakglass package-lambda`: the restore function's zip is built for the function's runtime and
architecture (the Terraform module's), not the build host's; it records what it was built for; its
handler imports under the target Python; `check`'s comparison with the deployed function.

The real builds fetch pydantic's wheels for the target platform with pip (from the package
registry, or the mirror pip is configured with): two builds per session."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from breakglass_aws.errors import ConfigError, UsageError
from breakglass_aws.lambda_package import (
    DEFAULT_ARCHITECTURE,
    DEFAULT_PYTHON,
    RECORD_NAME,
    BuildRecord,
    build_lambda_zip,
    read_build_record,
)
from breakglass_aws.readiness.lambda_fn import check_function_build, deployed_record
from tests.support.terraform import TERRAFORM_DIR

RUNTIME_FILE = TERRAFORM_DIR / "modules" / "control-plane" / "lambda-runtime.json"
# What the Lambda Python runtime provides and the zip leaves out.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


@pytest.fixture(scope="session")
def default_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lambda_zip(tmp_path_factory.mktemp("lambda-default"), version="9.9.9")


@pytest.fixture(scope="session")
def arm_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lambda_zip(tmp_path_factory.mktemp("lambda-arm"), "3.12", "arm64", version="9.9.9")


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def record_of(path: Path) -> BuildRecord:
    record = read_build_record(path.read_bytes())
    assert record is not None
    return record


def test_the_defaults_are_what_the_terraform_module_deploys():
    deployed = json.loads(RUNTIME_FILE.read_text())
    assert deployed == {"runtime": f"python{DEFAULT_PYTHON}", "architecture": DEFAULT_ARCHITECTURE}
    main = (RUNTIME_FILE.parent / "main.tf").read_text()
    assert 'jsondecode(file("${path.module}/lambda-runtime.json"))' in main
    assert "runtime          = local.lambda_runtime.runtime" in main
    assert "architectures    = [local.lambda_runtime.architecture]" in main


def test_default_zip_is_for_the_module_s_runtime_and_records_it(default_zip: Path):
    record = record_of(default_zip)
    assert (record.runtime, record.architecture) == ("python3.11", "x86_64")
    assert record.platform == "manylinux2014_x86_64" and record.breakglass_version == "9.9.9"
    assert record.handler == "breakglass_aws.lambda_handler.handler"
    assert {"pydantic", "pydantic-core", "typing-extensions"} <= set(record.distributions)
    listed = names(default_zip)
    assert RECORD_NAME in listed and "breakglass_aws/lambda_handler.py" in listed
    cores = [n for n in listed if n.startswith("pydantic_core/_pydantic_core") and n.endswith(".so")]
    assert cores == ["pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so"], cores
    left_out = (
        "breakglass_aws/cli/",
        "breakglass_aws/testing",
        "typer/",
        "moto/",
        *(f"{p}/" for p in RUNTIME_PROVIDED),
    )
    assert not [n for n in listed if n.startswith(left_out) or "__pycache__" in n]


def test_another_python_and_architecture(arm_zip: Path):
    record = record_of(arm_zip)
    assert (record.runtime, record.architecture, record.platform) == ("python3.12", "arm64", "manylinux2014_aarch64")
    cores = [n for n in names(arm_zip) if n.startswith("pydantic_core/_pydantic_core") and n.endswith(".so")]
    assert cores == ["pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so"], cores


def _runtime_site(tmp: Path) -> Path:
    """Stand-in for what the Lambda runtime provides: boto3 and its dependencies (from this venv)."""
    site = tmp / "runtime-site"
    site.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (site / source.name).symlink_to(source)
    return site


IMPORT = (
    "import sys; sys.path[:0] = [sys.argv[1]]; sys.path.append(sys.argv[2]); "
    "import breakglass_aws.lambda_handler as h, pydantic_core, boto3; "
    "from breakglass_aws.settings import Settings; Settings(store='dynamodb://table'); "
    "print(h.__file__); print(pydantic_core.__file__); print(boto3.__file__)"
)


def _import_handler(python: str, archive: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    unpacked = tmp / "unpacked"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(unpacked)
    site = _runtime_site(tmp)
    # -I -S: neither the environment nor any site-packages of that interpreter, only the zip and boto3
    return subprocess.run(
        [python, "-I", "-S", "-c", IMPORT, str(unpacked), str(site)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": os.environ.get("PATH", "")},
    )


def _python311() -> str:
    found = shutil.which("python3.11")
    if found is None:
        pytest.skip("python3.11 is not on PATH: the handler was not imported under the function's Python")
    return found


def test_the_handler_imports_from_the_zip_under_the_target_python(default_zip: Path, tmp_path: Path):
    python = _python311()
    done = _import_handler(python, default_zip, tmp_path)
    assert done.returncode == 0, done.stderr
    handler, core, boto3 = done.stdout.split()
    assert handler.startswith(str(tmp_path / "unpacked")) and core.startswith(str(tmp_path / "unpacked"))
    assert boto3.startswith(str(tmp_path / "runtime-site")), "boto3 comes from the runtime, not the zip"


def test_a_zip_for_another_runtime_does_not_import_there(arm_zip: Path, tmp_path: Path):
    """What the build record is for: the same code built for python3.12 on arm64 fails under 3.11."""
    python = _python311()
    done = _import_handler(python, arm_zip, tmp_path)
    assert done.returncode != 0
    assert "ImportError" in done.stderr or "ModuleNotFoundError" in done.stderr, done.stderr


# --- the build without the registry: a stand-in pip ------------------------------------------


def fake_pip(calls: list[list[str]]):
    def pip(args: list[str]) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        target = Path(args[args.index("--target") + 1])
        (target / "pydantic").mkdir()
        (target / "pydantic" / "__init__.py").write_text("")
        (target / "pydantic-2.9.0.dist-info").mkdir()
        (target / "pydantic-2.9.0.dist-info" / "METADATA").write_text("Name: pydantic\n")
        (target / "bin").mkdir()
        (target / "bin" / "tool").write_text("")
        return subprocess.CompletedProcess(args, 0, "", "")

    return pip


def test_pip_is_asked_for_the_target_platform_only_and_the_zip_is_reproducible(tmp_path: Path):
    calls: list[list[str]] = []
    first = build_lambda_zip(tmp_path / "a", "3.12", "arm64", version="1.0", pip=fake_pip(calls))
    second = build_lambda_zip(tmp_path / "b", "3.12", "arm64", version="1.0", pip=fake_pip(calls))
    assert first.read_bytes() == second.read_bytes()
    args = calls[0]
    for flag, value in [
        ("--platform", "manylinux2014_aarch64"),
        ("--python-version", "3.12"),
        ("--implementation", "cp"),
        ("--abi", "cp312"),
    ]:
        assert args[args.index(flag) + 1] == value
    assert "--only-binary=:all:" in args
    assert any(a.startswith("pydantic==") for a in args) and not any(a.startswith("boto") for a in args)
    assert record_of(first).distributions == {"pydantic": "2.9.0"}
    assert "bin/tool" not in names(first)


def test_pip_failing_is_a_configuration_error_naming_the_platform(tmp_path: Path):
    def failing(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 1, "", "ERROR: Could not find a version that satisfies pydantic\n")

    with pytest.raises(ConfigError) as raised:
        build_lambda_zip(tmp_path, pip=failing)
    assert raised.value.exit_code == 5
    assert "Python 3.11 on manylinux2014_x86_64" in raised.value.message
    assert "Could not find a version" in raised.value.message
    assert not (tmp_path / "breakglass-restore.zip").exists()


@pytest.mark.parametrize(
    ("python", "arch", "fragment"), [("3.10", "x86_64", "--python 3.10"), ("3.11", "sparc", "--arch sparc")]
)
def test_unknown_runtime_or_architecture_is_refused_before_pip(tmp_path: Path, python, arch, fragment):
    with pytest.raises(UsageError, match=fragment.replace(".", r"\.")):
        build_lambda_zip(tmp_path, python, arch, pip=lambda args: pytest.fail("pip was called"))


def test_command_refuses_a_bad_arch_with_one_line(aws, cli, tmp_path: Path):
    # aws: no AWS call is made, but the `cli` fixture's shared botocore session must be made with moto loaded
    run = cli("package-lambda", "--out", str(tmp_path), "--arch", "i386")
    assert run.exit_code == 2
    assert run.stderr.strip().splitlines() == [
        "error: --arch i386: Lambda architectures are x86_64 and arm64 "
        "(hint: e.g. --arch x86_64 (what terraform/modules/control-plane deploys))"
    ]
    assert list(tmp_path.iterdir()) == []


def test_command_without_a_registry_exits_5_naming_pip(tmp_path: Path):
    from tests.support.terraform import BREAKGLASS

    empty = tmp_path / "no-wheels"
    empty.mkdir()
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty)}
    done = subprocess.run(
        [BREAKGLASS, "package-lambda", "--out", str(tmp_path / "dist"), "--python", "3.12"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 5, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: pip could not fetch the wheels for Python 3.12 on manylinux2014_x86_64")
    assert "PIP_INDEX_URL" in line


def test_command_output_names_runtime_and_architecture(aws, cli, tmp_path: Path, monkeypatch):
    from breakglass_aws import lambda_package

    monkeypatch.setattr(lambda_package, "_run_pip", fake_pip([]))
    run = cli("package-lambda", "--out", str(tmp_path), "--arch", "arm64", "--output", "json")
    assert run.exit_code == 0, run.stderr
    assert {k: run.json()[k] for k in ("runtime", "architecture", "handler")} == {
        "runtime": "python3.11",
        "architecture": "arm64",
        "handler": "breakglass_aws.lambda_handler.handler",
    }
    text = cli("package-lambda", "--out", str(tmp_path))
    assert text.exit_code == 0 and " for python3.11 on x86_64, handler " in text.stdout


# --- check's comparison with the deployed function ----------------------------------------------

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:breakglass-restore"


def configuration(runtime: str = "python3.11", arch: str | None = "x86_64") -> dict[str, object]:
    answer: dict[str, object] = {"FunctionArn": FUNCTION, "Runtime": runtime}
    if arch:
        answer["Architectures"] = [arch]
    return answer


def test_a_function_matching_its_package_has_no_finding(default_zip: Path):
    record = record_of(default_zip)
    assert check_function_build(configuration(), record) == []
    assert check_function_build(configuration(arch=None), record, tool_version="9.9.9") == []


def test_runtime_or_architecture_mismatch_is_an_error_naming_the_rebuild(arm_zip: Path):
    found = check_function_build(configuration(), record_of(arm_zip))
    assert [(f.severity, f.check, f.subject) for f in found] == [("error", "restore-function", FUNCTION)] * 2
    assert "runs python3.11 but its package was built for python3.12" in found[0].message
    assert "runs on x86_64 but its package was built for arm64" in found[1].message
    assert found[0].remediation.startswith(
        "rebuild it for the function: breakglass package-lambda --python 3.11 --arch x86_64"
    )


def test_unknown_build_and_another_version_are_warnings(default_zip: Path):
    [unknown] = check_function_build(configuration(), None, why_unread="built by an older breakglass")
    assert unknown.severity == "warning" and "(built by an older breakglass)" in unknown.message
    [older] = check_function_build(configuration(), record_of(default_zip), tool_version="10.0.0")
    assert older.severity == "warning" and "breakglass 9.9.9, this tool is 10.0.0" in older.message


def test_deployed_record_reads_the_package_behind_get_function(default_zip: Path):
    answer = {"Configuration": configuration(), "Code": {"RepositoryType": "S3", "Location": "https://example/x"}}
    record, why = deployed_record(answer, lambda url: default_zip.read_bytes())
    assert record == record_of(default_zip) and why == ""

    def unreachable(url: str) -> bytes:
        raise OSError("no route")

    assert deployed_record(answer, unreachable) == (None, "its package could not be downloaded (OSError)")
    old = deployed_record(answer, lambda url: b"not a zip")
    assert old == (None, "its package holds no breakglass-build.json (built by an older breakglass)")
    image = {"Code": {"RepositoryType": "ECR", "ImageUri": "x"}}
    assert deployed_record(image, lambda url: b"")[0] is None
