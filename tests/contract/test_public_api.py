"""The library's public surface is explicit and pinned; the CLI layer stays thin."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import breakglass_aws

PACKAGE = Path(breakglass_aws.__file__).parent


def test_every_module_declares_all():
    missing = []
    for info in pkgutil.walk_packages([str(PACKAGE)], "breakglass_aws."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if not hasattr(module, "__all__") and not info.name.startswith("breakglass_aws.cli"):
            missing.append(info.name)
        for name in getattr(module, "__all__", []):
            assert hasattr(module, name), f"{info.name}.__all__ names missing {name}"
    assert missing == []


def test_pinned_surface():
    from breakglass_aws import errors, incident, restore

    assert errors.__all__ == [
        "AwsAccessError",
        "AwsFailure",
        "BreakglassError",
        "ConfigError",
        "DeclinedError",
        "GuardRailError",
        "PartialApplyError",
        "UsageError",
    ]
    assert {"open_scp_incident", "plan_scp_detach", "list_incidents", "get_incident"} <= set(incident.__all__)
    assert {"RestoreResult", "TargetRestore", "restore_expired", "restore_incident"} <= set(restore.__all__)


def test_cli_never_calls_boto3_and_domain_never_imports_typer():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        if "cli" in path.parts:
            assert not any(m.startswith(("boto3", "botocore")) for m in imported), path
        else:
            assert not any(m.startswith(("typer", "rich", "click")) for m in imported), path


def test_exit_codes_are_stable():
    from breakglass_aws import errors

    codes = {
        cls.__name__: cls.exit_code
        for cls in (
            errors.BreakglassError,
            errors.UsageError,
            errors.DeclinedError,
            errors.GuardRailError,
            errors.ConfigError,
            errors.AwsAccessError,
            errors.AwsFailure,
            errors.PartialApplyError,
        )
    }
    assert codes == {
        "BreakglassError": 1,
        "UsageError": 2,
        "DeclinedError": 3,
        "GuardRailError": 4,
        "ConfigError": 5,
        "AwsAccessError": 6,
        "AwsFailure": 7,
        "PartialApplyError": 8,
    }


def test_readme_library_example_runs_against_moto(org, tmp_path):
    """README's Library section, as written (account id and store path filled in): the SCP
    detached by the incident is back on the account after restore_incident."""
    import re
    from datetime import timedelta

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Library", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    deny = org.new_policy("deny-all")
    org.attach(deny, org.account)
    source = code.group(1).replace('"111122223333"', repr(org.account))
    namespace = {"path": tmp_path / "journal.sqlite3", "timedelta": timedelta}
    exec(compile(source, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    rt, incident_id = namespace["rt"], namespace["incident"].incident_id
    assert rt.store.get_incident(incident_id).status.value == "closed"
    done = [e.data["step"] for e in rt.store.entries(incident_id) if e.kind == "outcome" and e.data.get("ok")]
    assert [(s["action"], s["policy_id"]) for s in done] == [("detach", deny), ("attach", deny)]
    assert org.scps(org.account) == {"p-FullAWSAccess", deny}  # and is back
