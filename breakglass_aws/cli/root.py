"""`breakglass root unlock-bucket|unlock-queue|audit|delete-credentials`: root-task mode."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from breakglass_aws.cli.common.output import confirm, emit
from breakglass_aws.cli.group import HelpGroup
from breakglass_aws.cli.state import CliState, state

if TYPE_CHECKING:
    from breakglass_aws.incident.root import RootAsk, RootPlan, RootResult
    from breakglass_aws.root.tasks import TaskName

app = typer.Typer(
    cls=HelpGroup,
    rich_markup_mode=None,
    help=(
        "Root-task mode: a root session on a member account (sts:AssumeRoot, at most 900 s) to unlock a "
        "bucket or queue policy that denies everyone, or to audit or delete the root user's credentials."
    ),
    no_args_is_help=True,
)

ACCOUNT_HELP = "The member account (12 digits)."
REASON_HELP = "Why the glass is broken (recorded and notified)."
TICKET_HELP = "Ticket or incident reference."
REPLACE_HELP = "Put this corrected policy (JSON, checked before any call) instead of deleting the policy."
DRY_RUN_HELP = "Check the prerequisites (reads only) and show the plan; change nothing."


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="root")


@app.command("unlock-bucket")
def unlock_bucket(
    ctx: typer.Context,
    account: Annotated[str, typer.Option(metavar="ID", help=ACCOUNT_HELP)],
    bucket: Annotated[str, typer.Option(metavar="NAME", help="The bucket whose policy locks everyone out.")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help=REASON_HELP)],
    ticket: Annotated[str | None, typer.Option(metavar="REF", help=TICKET_HELP)] = None,
    replace_with: Annotated[Path | None, typer.Option(metavar="FILE", help=REPLACE_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete (or replace) a bucket policy that denies everyone, as the account's root (S3UnlockBucketPolicy)."""
    from breakglass_aws.root.inputs import read_policy_file, validate_account, validate_bucket

    st = state(ctx)
    why, ref = _reason(reason, ticket)
    validate_account(account)
    validate_bucket(bucket)
    replacement = read_policy_file(replace_with, "bucket") if replace_with is not None else None
    _run(st, "unlock-bucket", account, bucket, None, replacement, why, ref, dry_run, yes)


@app.command("unlock-queue")
def unlock_queue(
    ctx: typer.Context,
    account: Annotated[str, typer.Option(metavar="ID", help=ACCOUNT_HELP)],
    queue_url: Annotated[str, typer.Option(metavar="URL", help="https://sqs.REGION.amazonaws.com/ACCOUNT/NAME")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help=REASON_HELP)],
    ticket: Annotated[str | None, typer.Option(metavar="REF", help=TICKET_HELP)] = None,
    replace_with: Annotated[Path | None, typer.Option(metavar="FILE", help=REPLACE_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete (or replace) a queue policy that denies everyone, as the account's root (SQSUnlockQueuePolicy)."""
    from breakglass_aws.root.inputs import parse_queue_url, read_policy_file, validate_account

    st = state(ctx)
    why, ref = _reason(reason, ticket)
    validate_account(account)
    region, _ = parse_queue_url(queue_url, account)
    replacement = read_policy_file(replace_with, "queue") if replace_with is not None else None
    _run(st, "unlock-queue", account, queue_url, region, replacement, why, ref, dry_run, yes)


@app.command("audit")
def audit(
    ctx: typer.Context,
    account: Annotated[str, typer.Option(metavar="ID", help=ACCOUNT_HELP)],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (recorded).")] = "audit root credentials",
    ticket: Annotated[str | None, typer.Option(metavar="REF", help=TICKET_HELP)] = None,
) -> None:
    """Report the member account's root credentials: password, access keys, MFA, certificates (reads only)."""
    from breakglass_aws.root.inputs import validate_account

    st = state(ctx)
    why, ref = _reason(reason, ticket)
    validate_account(account)
    _run(st, "audit", account, None, None, None, why, ref, dry_run=False, yes=True)


@app.command("delete-credentials")
def delete_credentials(
    ctx: typer.Context,
    account: Annotated[str, typer.Option(metavar="ID", help=ACCOUNT_HELP)],
    reason: Annotated[str, typer.Option(metavar="TEXT", help=REASON_HELP)],
    ticket: Annotated[str | None, typer.Option(metavar="REF", help=TICKET_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the member account's root credentials (IAMDeleteRootUserCredentials), each step journaled."""
    from breakglass_aws.root.inputs import validate_account

    st = state(ctx)
    why, ref = _reason(reason, ticket)
    validate_account(account)
    _run(st, "delete-credentials", account, None, None, None, why, ref, dry_run, yes)


def _reason(reason: str, ticket: str | None) -> tuple[str, str | None]:
    from breakglass_aws.validate import validate_reason, validate_ticket

    return validate_reason(reason), validate_ticket(ticket)


def _run(
    st: CliState,
    task: TaskName,
    account: str,
    resource: str | None,
    region: str | None,
    replacement: str | None,
    why: str,
    ticket: str | None,
    dry_run: bool,
    yes: bool,
) -> None:
    from breakglass_aws.incident.root import RootAsk, plan_root_task, run_root_task
    from breakglass_aws.runtime import whoami

    rt = st.runtime()
    ask = RootAsk(task, account, region or rt.factory.region_name(), resource, replacement)
    requester = whoami(rt)
    plan = plan_root_task(rt, ask, requester)
    if dry_run:
        emit(st, {**plan.model_dump(mode="json"), "dry_run": True}, lambda: _plan_text(plan))
        return
    confirm(st, _question(ask), yes)
    result = run_root_task(rt, ask, requester, why, ticket)
    emit(st, result.model_dump(mode="json"), lambda: _result_text(result))


def _question(ask: RootAsk) -> str:
    if ask.task == "delete-credentials":
        return f"Delete every root user credential of {ask.account} (password, access keys, certificates, MFA)?"
    change = "put the corrected policy on" if ask.replacement is not None else "delete the policy of"
    return f"As the root user of {ask.account}, {change} {ask.target()}?"


def _plan_text(plan: RootPlan) -> list[str]:
    lines = [f"Plan for {plan.target} (dry run: only reads were made; nothing is changed):"]
    lines += [f"  prerequisite ok: {p.detail}" for p in plan.prerequisites]
    if plan.resumes:
        lines.append(f"  resumes the unfinished incident {plan.resumes}")
    lines += [f"  {n}. {step}" for n, step in enumerate(plan.steps, 1)]
    return lines


def _result_text(result: RootResult) -> list[str]:
    lines = [f"incident {result.incident_id} (root, {result.task}): {result.target}"]
    if result.resumed:
        lines.append("  resumed the unfinished incident")
    if result.policy_found is not None:
        lockout = (
            f"the policy found ({result.policy_bytes} bytes, sha256 {result.policy_sha256}) is saved in the journal"
            if result.policy_found
            else "no policy was found"
        )
        lines.append(f"  {lockout}")
    lines += [f"  done: {line}" for line in result.done]
    if result.now is not None:
        lines.append(f"  read back: {result.now}")
    if result.found is not None:
        before = " (before the deletion)" if result.task == "delete-credentials" else ""
        lines.append(f"  root credentials of {result.account}{before}:")
        lines += [f"    {line}" for line in result.found.lines()]
    if result.remaining is not None:
        lines.append(f"  read back: {'no root credentials remain' if result.remaining.empty() else 'some remain'}")
    if result.evidence:
        lines.append(f"  evidence: {result.evidence}")
    if result.evidence_error:
        lines.append(f"  evidence not collected: {result.evidence_error}")
    lines.append(f"{result.incident_id} {result.status.value}")
    return lines
