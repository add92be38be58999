"""`breakglass watch`."""

from __future__ import annotations

from typing import Annotated

import typer

from breakglass_aws.cli.common.output import emit
from breakglass_aws.cli.state import state


def register(root: typer.Typer) -> None:
    root.command("watch")(watch_command)


def watch_command(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(metavar="DURATION", help="How far back to look (max 90d).")] = "24h",
    alert: Annotated[bool, typer.Option("--alert", help="Publish each new finding to SNS (once).")] = False,
) -> None:
    """Find every use of the glass, and every change to its controls, that matches no incident: in
    us-east-1 and each of alert_regions. Exits 4 when there are findings (for schedules)."""
    from breakglass_aws.errors import GuardRailError
    from breakglass_aws.validate import parse_duration
    from breakglass_aws.watch.scan import run_watch, watched_names

    st = state(ctx)
    period = parse_duration(since, what="--since")
    rt = st.runtime()
    settings = st.settings()
    result = run_watch(rt, period, alert, watched_names(settings, rt.role.role_name), list(settings.alert_regions))
    lines = [f"{f.time} {f.kind:20} {f.region:14} {f.account:12} {f.who}: {f.detail}" for f in result.findings]
    nothing = f"no out-of-band use since {result.since} in {', '.join(result.regions)}"
    emit(st, result.model_dump(mode="json"), lambda: lines or [nothing])
    if alert and result.findings:
        st.progress(f"{result.alerted} new alert(s) published")
    if result.alert_failures:
        if st.json:
            raise typer.Exit(result.exit_code())
        raise _alerts_not_sent(len(result.alert_failures), result.exit_code())
    if result.findings:
        if st.json:
            raise typer.Exit(GuardRailError.exit_code)
        raise GuardRailError(f"{len(result.findings)} out-of-band finding(s)", "investigate each one above")


def _alerts_not_sent(count: int, code: int) -> Exception:
    from breakglass_aws.errors import AwsAccessError, AwsFailure

    kind = AwsAccessError if code == AwsAccessError.exit_code else AwsFailure
    return kind(
        f"{count} alert(s) could not be published to SNS",
        "check the topic (sns_topic_arn) and sns:Publish permission; the next watch --alert retries them",
    )
