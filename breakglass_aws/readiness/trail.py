"""`check`: does a trail record the management events of every region? EventBridge receives
"AWS API Call via CloudTrail" events only while a trail logs them, and evidence rests on its files.
Wanted: one trail (of this account or the organization's) that covers every region, is logging,
validates its log files and selects all management events. Otherwise each missing item of the
trail closest to that is a finding of its own, with the command that fixes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from breakglass_aws.readiness.common import HOME_REGION, finding
from breakglass_aws.runtime import Runtime
from breakglass_aws.scp.lint import Finding

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail.type_defs import GetEventSelectorsResponseTypeDef

__all__ = ["check_trail", "management_events"]

CHECK = "alert-trail"


def management_events(selectors: GetEventSelectorsResponseTypeDef) -> bool:
    """All management events, read and write: a basic selector with IncludeManagementEvents and
    ReadWriteType All, or an advanced selector on eventCategory Management that does not narrow
    readOnly. No selector at all is CloudTrail's default: all management events."""
    basic, advanced = selectors.get("EventSelectors", []), selectors.get("AdvancedEventSelectors", [])
    if not basic and not advanced:
        return True
    if any(s.get("IncludeManagementEvents", True) and s.get("ReadWriteType", "All") == "All" for s in basic):
        return True
    for selector in advanced:
        fields = {f["Field"]: f for f in selector.get("FieldSelectors", [])}
        category = fields["eventCategory"].get("Equals", []) if "eventCategory" in fields else []
        if "Management" in category and "readOnly" not in fields:
            return True
    return False


def _items(trail: Mapping[str, Any], logging: bool, management: bool) -> dict[str, tuple[bool, str, str]]:
    """What the trail must do -> (done, what is wrong, the fix)."""
    name = str(trail["Name"])
    region = str(trail.get("HomeRegion", HOME_REGION))
    every_region = bool(trail.get("IsMultiRegionTrail") or trail.get("IsOrganizationTrail"))
    selectors = '\'[{"ReadWriteType":"All","IncludeManagementEvents":true}]\''
    return {
        "regions": (
            every_region,
            f"the trail {name} records its home region {region} only: use in other regions goes unseen",
            f"aws cloudtrail update-trail --region {region} --name {name} --is-multi-region-trail",
        ),
        "logging": (
            logging,
            f"the trail {name} is not logging: EventBridge receives no API call events",
            f"aws cloudtrail start-logging --region {region} --name {name}",
        ),
        "validation": (
            bool(trail.get("LogFileValidationEnabled")),
            f"the trail {name} does not validate its log files: a rewritten log goes unnoticed",
            f"aws cloudtrail update-trail --region {region} --name {name} --enable-log-file-validation",
        ),
        "management": (
            management,
            f"the trail {name} does not select all management events (read and write)",
            f"aws cloudtrail put-event-selectors --region {region} --trail-name {name} --event-selectors {selectors}",
        ),
    }


def _judge(rt: Runtime, trail: Mapping[str, Any]) -> dict[str, tuple[bool, str, str]] | None:
    """The trail's items; None when it cannot be read from here (another account's organization
    trail, or an access denial)."""
    client = rt.factory.client("cloudtrail", str(trail.get("HomeRegion", HOME_REGION)))
    arn = str(trail["TrailARN"])
    try:
        logging = bool(client.get_trail_status(Name=arn).get("IsLogging"))
        selectors = client.get_event_selectors(TrailName=arn)
    except client.exceptions.ClientError:
        return None
    return _items(trail, logging, management_events(selectors))


def _no_trail() -> Finding:
    return finding(
        "error",
        CHECK,
        "cloudtrail",
        "no CloudTrail trail: EventBridge receives no API call events, and there is no evidence",
        "apply terraform/modules/control-plane, or create a multi-region trail: aws cloudtrail create-trail "
        "--name breakglass --s3-bucket-name BUCKET --is-multi-region-trail --enable-log-file-validation "
        "&& aws cloudtrail start-logging --name breakglass",
    )


def _unreadable(trail: Mapping[str, Any]) -> Finding:
    return finding(
        "warning",
        CHECK,
        str(trail["TrailARN"]),
        f"could not read the status or event selectors of the trail {trail['Name']} from this account",
        "grant cloudtrail:GetTrailStatus and cloudtrail:GetEventSelectors, or run check in the trail's account",
    )


def check_trail(rt: Runtime) -> list[Finding]:
    trails = rt.factory.client("cloudtrail", HOME_REGION).describe_trails(includeShadowTrails=True)["trailList"]
    if not trails:
        return [_no_trail()]
    judged = [(t, _judge(rt, t)) for t in trails]
    readable = sorted(
        ((t, items) for t, items in judged if items is not None),
        key=lambda pair: (-sum(done for done, _, _ in pair[1].values()), str(pair[0]["Name"])),
    )
    found = []
    if readable:
        trail, items = readable[0]
        found = [
            finding("error", CHECK, str(trail["TrailARN"]), what, fix) for done, what, fix in items.values() if not done
        ]
    if found or not readable:
        found += [_unreadable(t) for t, items in judged if items is None]
    return found
