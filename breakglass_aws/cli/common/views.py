"""The text of library results, as people read them: an opened incident, a restore, a close, a
rotation, an evidence bundle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from breakglass_aws.cli.state import CliState

if TYPE_CHECKING:
    from breakglass_aws.evidence.collect import CollectResult
    from breakglass_aws.incident.plan import CloseResult
    from breakglass_aws.incident.restore import RestoreResult
    from breakglass_aws.incident.role import RevokeResult
    from breakglass_aws.incident.rotation import RotationResult
    from breakglass_aws.models import Incident
    from breakglass_aws.role.revoke import RevokeProof, RevokeStep
    from breakglass_aws.rotation import RotationProof
    from breakglass_aws.runtime import Runtime

from breakglass_aws.cli.common.output import emit, status_line
from breakglass_aws.cli.common.request import override_lines

__all__ = [
    "close_text",
    "collect_text",
    "ended_text",
    "opened_output",
    "restore_text",
    "revoke_text",
    "rotate_text",
    "rotation_proof",
    "stored_status",
]


def opened_output(st: CliState, incident: Incident) -> None:
    emit(st, _opened_json(incident), lambda: _opened_text(incident))


def _opened_json(incident: Incident) -> dict[str, object]:
    data = incident.public()
    snapshot = incident.scp[0]
    return {
        "incident_id": incident.incident_id,
        "status": incident.status.value,
        "target": snapshot.target,
        "detached": snapshot.detach,
        "attached_full_access": snapshot.attach_full_access,
        "expires_at": data["expires_at"],
        "override": incident.override,
        "blast_radius": snapshot.blast_radius,
        "inherited_denies": incident.request.get("inherited_denies", []),
    }


def _opened_text(incident: Incident) -> list[str]:
    expires = incident.public()["expires_at"]
    detached = ", ".join(incident.scp[0].detach)
    return [
        *override_lines(incident),
        f"incident {incident.incident_id} {incident.status.value}: {detached} detached from {incident.targets[0]}",
        f"expires {expires}; restore now with: breakglass scp restore {incident.incident_id}",
        status_line(incident.incident_id, incident.status.value),
    ]


def stored_status(rt: Runtime, incident_id: str, fallback: str) -> str:
    """The incident's status as the store holds it now (`fallback` if it cannot be read)."""
    from breakglass_aws.errors import BreakglassError

    try:
        return rt.store.get_incident(incident_id).status.value
    except BreakglassError:
        return fallback


def restore_text(result: RestoreResult, status: str | None = None) -> list[str]:
    """What the restore did, then the status (`status`: as stored, when the caller read it) last."""
    now = status or result.status.value
    if result.noop:
        if result.also:
            return [f"{result.incident_id} is {now}: {'; '.join(result.also)}"]
        return [f"{result.incident_id} is already {now}: nothing to do"]
    return [*_restore_lines(result), status_line(result.incident_id, now)]


def _restore_lines(result: RestoreResult) -> list[str]:
    lines = []
    for t in result.targets:
        if t.held_by:
            lines.append(f"{t.target}: still held by {', '.join(t.held_by)}; its SCPs come back when the last closes")
            continue
        lines.append(
            f"{t.target}: re-attached {', '.join(t.reattached) or 'nothing (already attached)'}"
            + ("; removed FullAWSAccess" if t.removed_full_access else "")
        )
        lines.append(
            f"  now attached: {', '.join(t.final)}  "
            f"({'matches the snapshot' if t.matches_snapshot else 'DIFFERS from the snapshot'})"
        )
        lines += [f"  drift: {d}" for d in t.drift]
    if result.targets:
        lines += [f"  also finished the close begun earlier: {what}" for what in result.also]
    else:  # a role incident closed at its expiry
        lines += [f"  {what}" for what in result.also]
    if result.error:
        lines.append(f"needs attention: {result.error}")
        lines.append(f"fix it, then: breakglass scp restore {result.incident_id} [--accept-drift]")
    return lines


def rotate_text(result: RotationResult, status: str | None = None) -> list[str]:
    if result.dry_run:
        return [f"rotation plan for {result.user} (dry run, nothing changed):"] + [
            f"  {n}. {step}" for n, step in enumerate(result.steps, 1)
        ]
    lines = [f"resumed {result.incident_id}"] if result.resumed else []
    lines.append(f"rotated {result.user}: new access key {result.new_key_id} stored in {result.secret_id}")
    lines.append(
        f"  deleted: {', '.join(result.deleted_keys) or 'no old key'}"
        + ("; console password reset" if result.password_reset else "")
    )
    if result.verified:
        lines.append(rotation_proof(result.verified))
    lines.append(f"  journal: breakglass show {result.incident_id}")
    return [*lines, status_line(result.incident_id, status)] if status else lines


def rotation_proof(proof: RotationProof) -> str:
    return (
        f"  verified: {proof.active_key_id} is the only key left, active and in the secret; "
        f"old keys gone: {', '.join(proof.old_keys_gone) or 'none'}"
    )


def close_text(result: CloseResult, status: str | None = None) -> list[str]:
    """What the close did, then the status (`status`: as stored, when the caller read it) last."""
    now = status or result.status.value
    if result.busy:
        return [
            f"{result.incident_id} is being closed by {result.busy}; see: breakglass show {result.incident_id}",
            status_line(result.incident_id, now),
        ]
    if result.mode.value == "root" and not result.noop:  # ended now: nothing sent, what was in doubt read back
        lines = [f"ended without sending any change; read back: {what}" for what in result.checked]
        lines += collect_text(result.evidence) if result.evidence else []
        return [*lines, status_line(result.incident_id, now)]
    if result.checked or result.repaired:
        return ended_text(result, now)
    lines = _restore_lines(result.restore) if result.restore else []
    lines += _revoke_lines(result.revoked, result.revoke_verified)
    lines += [
        f"note: {other} is still open on this role; its sessions are revoked too: "
        f"continue with: breakglass exec {other} -- ..."
        for other in result.also_revoked
    ]
    for rotated in result.rotated:
        lines.append(
            f"rotated {rotated.user}: new access key {rotated.new_key_id} in {rotated.secret_id}; "
            f"deleted {', '.join(rotated.deleted_keys) or 'no old key'}"
            + ("; console password reset" if rotated.password_reset else "")
        )
        if rotated.verified:
            lines.append(rotation_proof(rotated.verified))
    if result.evidence:
        lines += collect_text(result.evidence)
    return [*lines, status_line(result.incident_id, now)]


def ended_text(result: CloseResult, status: str | None = None) -> list[str]:
    """A rerun on an ended incident: what was proven, and what a crash had left undone."""
    now = status or result.status.value
    if not result.repaired:
        return [f"{result.incident_id} is already {now}: nothing to do ({'; '.join(result.checked)})"]
    lines = [f"{result.incident_id} is already {now}; checked: {'; '.join(result.checked)}"]
    lines += [f"  repaired: {what}" for what in result.repaired]
    for rotated in result.rotated:
        if rotated.verified:
            lines.append(rotation_proof(rotated.verified))
    return [*lines, status_line(result.incident_id, now)]


def collect_text(result: CollectResult) -> list[str]:
    lines = [
        f"bundle {result.folder}: {result.event_count} CloudTrail events from {', '.join(result.regions)}",
        f"manifest sha256 {result.manifest_sha256} (journaled; check a copy with: "
        f"breakglass evidence verify DIR --expect-sha256 {result.manifest_sha256})",
    ]
    if not result.final:
        lines.append(f"not final: CloudTrail may still deliver events; collect again after {result.final_after}")
    return lines


def revoke_text(result: RevokeResult) -> list[str]:
    lines = _revoke_lines(result.revoked, result.revoke_verified)
    return [*lines, status_line(result.incident_id, result.status.value)]


def _revoke_lines(revoked: RevokeStep | None, verified: RevokeProof | None) -> list[str]:
    lines = []
    if revoked:
        previous = revoked.previous_cutoff
        merged = f" (kept the later of the existing cut-off {previous})" if previous else ""
        lines.append(
            f"revoked every session of {revoked.role_arn} issued before {revoked.cutoff}"
            f"{merged}; AWS applies it within minutes"
        )
    if verified:
        lines.append(f"  verified: {verified.policy_name} read back, denying sessions issued before {verified.cutoff}")
    return lines
