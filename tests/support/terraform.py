"""Terraform for the tests: find the binary and the provider mirror (skip when either is absent),
write the CLI configuration that installs providers from the mirror, and run terraform commands in
a temporary copy of `terraform/`, so that no `.terraform/`, lock file or state lands in the repository.

The mirror is discovered as `terraform/mirror-config.sh` discovers it (the script `.ci/run` runs to
export TF_CLI_CONFIG_FILE, and `write_cli_config` runs here): the parent of the first
`registry.terraform.io` folder on the root filesystem that holds provider packages.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
MIRROR_CONFIG_SCRIPT = TERRAFORM_DIR / "mirror-config.sh"
MODULES = sorted(p.name for p in (TERRAFORM_DIR / "modules").iterdir() if (p / "main.tf").is_file())
EXAMPLES = sorted(p.name for p in (TERRAFORM_DIR / "examples").iterdir() if (p / "main.tf").is_file())
ROOTS = [*(f"modules/{name}" for name in MODULES), *(f"examples/{name}" for name in EXAMPLES)]

FIND_MIRROR = ["find", "/", "-xdev", "-type", "d", "-name", "registry.terraform.io", "-not", "-path", "*/.terraform/*"]
BREAKGLASS = str(Path(sys.executable).with_name("breakglass"))
# Never copied into the scratch tree: Terraform's working files, should any exist in the checkout.
SCRATCH_IGNORE = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate", "*.tfstate.*", "*.tfplan")


def terraform_binary() -> str | None:
    return shutil.which("terraform")


@functools.cache
def find_mirror() -> Path | None:
    """The folder holding `registry.terraform.io/`, or None."""
    try:
        found = subprocess.run(FIND_MIRROR, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in found.stdout.splitlines():
        candidate = Path(line.strip())
        if not line.strip() or "plugin-cache" in candidate.parts or str(candidate).startswith("/tmp/pytest-of-"):
            continue
        if any(p.is_file() and not p.is_symlink() for p in candidate.rglob("terraform-provider-*")):
            return candidate.parent  # as terraform/mirror-config.sh chooses it
    return None


def require_terraform() -> str:
    binary = terraform_binary()
    if binary is None:
        pytest.skip("terraform not installed")
    return binary


def require_mirror() -> Path:
    mirror = find_mirror()
    if mirror is None:
        pytest.skip("terraform provider mirror not found")
    return mirror


def write_cli_config(path: Path) -> Path:
    """Write the CLI configuration with terraform/mirror-config.sh (the script CI uses)."""
    done = subprocess.run(
        ["bash", str(MIRROR_CONFIG_SCRIPT), str(path)], capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"terraform/mirror-config.sh failed (exit {done.returncode}):\n{done.stderr}")
    assert done.stdout.strip() == str(path), done.stdout
    return path


def clean_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without AWS, Terraform or breakglass settings of the machine."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not k.startswith(("AWS_", "TF_", "BREAKGLASS_"))}


@dataclass
class Terraform:
    """Runs terraform with the mirror configuration in a scratch copy of `terraform/`."""

    binary: str
    env: dict[str, str]
    scratch: Path
    _initialized: set[Path] = field(default_factory=set)

    def run(
        self, *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run `terraform ARGS` in cwd; fail the test with terraform's own output when it fails."""
        done = subprocess.run(
            [self.binary, *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"terraform {' '.join(args)} failed in {cwd} (exit {done.returncode})\n"
                f"--- stderr ---\n{done.stderr}\n--- stdout (end) ---\n{done.stdout[-6000:]}",
                pytrace=False,
            )
        return done

    def workdir(self, root: str) -> Path:
        """The scratch copy of a module or example, e.g. `modules/control-plane`."""
        return self.scratch / root

    def init(self, root: str) -> Path:
        """`terraform init -backend=false` once per directory and session; returns the directory."""
        workdir = self.workdir(root)
        if workdir not in self._initialized:
            self.run("init", "-backend=false", "-no-color", cwd=workdir)
            self._initialized.add(workdir)
        return workdir

    def outputs(self, workdir: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """`terraform output -json` as {name: value}."""
        answer = json.loads(self.run("output", "-json", "-no-color", cwd=workdir, env=env).stdout)
        return {name: item["value"] for name, item in answer.items()}


def terraform_session(tmp: Path) -> Terraform:
    """Skip unless terraform and the mirror are present; else a runner over a scratch copy."""
    binary = require_terraform()
    require_mirror()
    config = write_cli_config(tmp / "terraform.rc")
    scratch = tmp / "terraform"
    shutil.copytree(TERRAFORM_DIR, scratch, ignore=SCRATCH_IGNORE)
    env = clean_environment()
    env.update(
        TF_CLI_CONFIG_FILE=str(config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",  # no version check against checkpoint-api.hashicorp.com
    )
    return Terraform(binary=binary, env=env, scratch=scratch)


def build_lambda_zip(dest: Path) -> Path:
    """The restore function's package: `breakglass package-lambda` when the command has it, else
    a zip of the installed breakglass_aws package (enough for an emulator that never runs it)."""
    probe = subprocess.run([BREAKGLASS, "package-lambda", "--help"], capture_output=True, text=True, check=False)
    if probe.returncode == 0:
        out = dest / "lambda-package"
        built = subprocess.run(
            [BREAKGLASS, "package-lambda", "--out", str(out)], capture_output=True, text=True, timeout=600, check=False
        )
        assert built.returncode == 0, built.stderr
        zips = sorted(out.rglob("*.zip"))
        assert zips, f"breakglass package-lambda wrote no zip into {out}"
        return zips[0]
    import breakglass_aws

    package = Path(breakglass_aws.__file__).parent
    target = dest / "breakglass-restore.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*.py")):
            archive.write(path, path.relative_to(package.parent).as_posix())
    return target


# --- a small IAM evaluator for the policies Terraform renders ------------------------------------

_CONDITION_TESTS = {"StringEquals", "StringLike", "ArnEquals", "ArnLike"}


def _wildcard(pattern: str, value: str, *, fold: bool = False) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` one character, nothing else special."""
    regex = ".*".join(".".join(re.escape(part) for part in piece.split("?")) for piece in pattern.split("*"))
    flags = (re.IGNORECASE | re.DOTALL) if fold else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditions_hold(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for test, keys in condition.items():
        if test not in _CONDITION_TESTS:
            raise ValueError(f"condition operator {test} is not modelled: extend the evaluator first")
        for key, wanted in keys.items():
            given = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            if given is None:  # a key absent from the request fails every operator modelled here
                return False
            exact = test in ("StringEquals", "ArnEquals")
            if not any(given == w if exact else _wildcard(w, given) for w in _listed(wanted)):
                return False
    return True


def allows(document: str, action: str, resources: Sequence[str], context: Mapping[str, str] | None = None) -> bool:
    """Whether the policy document allows `action` on every resource of the request.

    A deliberately small model of IAM for the identity policies of this project: one Allow
    statement must name the action (wildcards, case-insensitive) and every resource of the request
    (Organizations authorizes AttachPolicy and DetachPolicy on the policy's ARN and the target's ARN
    "in the same policy statement"), and all its conditions must hold for the request context
    (StringEquals, StringLike, ArnEquals, ArnLike; a key the request lacks fails). Deny,
    NotAction, NotResource and other operators are refused with ValueError instead of ignored.
    """
    statements = _listed(json.loads(document)["Statement"])
    for statement in statements:
        if statement.get("Effect") != "Allow" or {"NotAction", "NotResource"} & set(statement):
            raise ValueError(f"statement {statement.get('Sid', '?')} is not modelled: {sorted(statement)}")
    for statement in statements:
        if not any(_wildcard(p, action, fold=True) for p in _listed(statement["Action"])):
            continue
        patterns = _listed(statement["Resource"])
        if not all(any(_wildcard(p, r) for p in patterns) for r in resources):
            continue
        if _conditions_hold(statement.get("Condition", {}), context or {}):
            return True
    return False


# --- the alert rules as deployed ----------------------------------------------------------------


def deployed_alert_rules(events: Any, prefix: str = "breakglass") -> dict[str, dict[str, Any]]:
    """The EventBridge rules named `<prefix>-<kind>` of one account and region, by kind:
    {"pattern": the parsed EventPattern, "state": State, "targets": the rule's targets}."""
    found: dict[str, dict[str, Any]] = {}
    for page in events.get_paginator("list_rules").paginate(NamePrefix=f"{prefix}-"):
        for rule in page["Rules"]:
            found[rule["Name"].removeprefix(f"{prefix}-")] = {
                "pattern": json.loads(rule["EventPattern"]),
                "state": rule["State"],
                "targets": events.list_targets_by_rule(Rule=rule["Name"])["Targets"],
            }
    return found


def _document(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def assert_forwards_to(
    events: Any, iam: Any, bus_arn: str, expected: Mapping[str, Mapping[str, Any]], account: str
) -> None:
    """The rules of one account and region are exactly `expected` ({kind: {pattern, state, ...}},
    as breakglass_aws.watch.coverage.patterns renders them), each with one target: the central bus
    `bus_arn`, through a role of `account` that only EventBridge of that account may assume and
    that may events:PutEvents on that bus and nothing else."""
    rules = deployed_alert_rules(events)
    assert set(rules) == set(expected), sorted(set(rules) ^ set(expected))
    roles = set()
    for kind, rule in rules.items():
        assert (rule["pattern"], rule["state"]) == (expected[kind]["pattern"], expected[kind]["state"]), kind
        [target] = rule["targets"]
        assert target["Arn"] == bus_arn, kind
        roles.add(target["RoleArn"])
    [role_arn] = roles
    assert role_arn.startswith(f"arn:aws:iam::{account}:role/"), role_arn
    role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
    [trust] = _listed(_document(role["AssumeRolePolicyDocument"])["Statement"])
    assert trust["Effect"] == "Allow" and trust["Action"] == "sts:AssumeRole", trust
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}, trust
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}, trust
    names = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    documents = [
        json.dumps(_document(iam.get_role_policy(RoleName=role["RoleName"], PolicyName=n)["PolicyDocument"]))
        for n in names
    ]
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []
    assert any(allows(d, "events:PutEvents", [bus_arn]) for d in documents), documents
    elsewhere = bus_arn.replace(":event-bus/default", ":event-bus/other")
    assert not any(allows(d, "events:PutEvents", [elsewhere]) or allows(d, "events:PutRule", ["*"]) for d in documents)
