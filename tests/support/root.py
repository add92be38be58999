"""Root-task mode: centralized root access turned on, a member account's locked bucket and queue
(seen through the member account, as its own administrators would), what AssumeRoot was sent and
answered, and root-task command runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

IAM_SERVICE = "iam.amazonaws.com"
BUCKET = "orders-data"
QUEUE = "orders"
REGION = "eu-west-1"


def deny_all(resource: str, service: str = "s3") -> dict[str, Any]:
    resources = [resource, f"{resource}/*"] if service == "s3" else resource
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Lockout", "Effect": "Deny", "Principal": "*", "Action": f"{service}:*", "Resource": resources}
        ],
    }


def corrected(resource: str, account: str, service: str = "s3") -> dict[str, Any]:
    resources = [resource, f"{resource}/*"] if service == "s3" else resource
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountOnly",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": f"{service}:*",
                "Resource": resources,
            }
        ],
    }


def enable_root_access(sessions: bool = True, credentials: bool = True, trusted: bool = True, endpoint=None) -> None:
    """What the management account does once: trusted access for IAM, then the features."""
    kw = {"region_name": "us-east-1", "endpoint_url": endpoint}
    if trusted:
        boto3.client("organizations", **kw).enable_aws_service_access(ServicePrincipal=IAM_SERVICE)
    iam = boto3.client("iam", **kw)
    if sessions:
        iam.enable_organizations_root_sessions()
    if credentials:
        iam.enable_organizations_root_credentials_management()


def member(account: str, service: str, region: str = REGION, endpoint=None) -> Any:
    """A client acting in the member account (through its OrganizationAccountAccessRole)."""
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint)
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    c = sts.assume_role(RoleArn=role, RoleSessionName="member-admin")["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
    )


def locked_bucket(account: str, name: str = BUCKET, region: str = REGION, endpoint=None) -> str:
    s3 = member(account, "s3", region, endpoint)
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **where)
    policy = json.dumps(deny_all(f"arn:aws:s3:::{name}"))
    s3.put_bucket_policy(Bucket=name, Policy=policy)
    return policy


def bucket_policy(account: str, name: str = BUCKET, region: str = REGION, endpoint=None) -> str | None:
    """The bucket policy as the member account's backend holds it (moto evaluates none)."""
    s3 = member(account, "s3", region, endpoint)
    try:
        return s3.get_bucket_policy(Bucket=name)["Policy"]
    except s3.exceptions.ClientError as err:
        assert err.response["Error"]["Code"] == "NoSuchBucketPolicy", err
        return None


def locked_queue(account: str, name: str = QUEUE, region: str = REGION) -> tuple[str, str]:
    sqs = member(account, "sqs", region)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = f"arn:aws:sqs:{region}:{account}:{name}"
    policy = json.dumps(deny_all(arn, "sqs"))
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    return url, policy


def queue_policy(account: str, url: str, region: str = REGION) -> str | None:
    attributes = member(account, "sqs", region).get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    return attributes.get("Attributes", {}).get("Policy") or None


@dataclass
class AssumeRootSpy:
    """What AssumeRoot was sent (its URL and parameters, seen by botocore before sending) and
    answered (the root session's secret parts, for the secret scans)."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def hooks(self) -> list[tuple[str, Any]]:
        return [("before-send.sts.AssumeRoot", self._send), ("after-call.sts.AssumeRoot", self._answer)]

    def _send(self, request=None, **_):
        from urllib.parse import parse_qs

        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        self.sent.append({"url": request.url, "params": {k: v[0] for k, v in parse_qs(body).items()}})

    def _answer(self, parsed=None, **_):
        creds = (parsed or {}).get("Credentials")
        if creds:
            self.secrets += [creds["SecretAccessKey"], creds["SessionToken"]]


def unlock_bucket(cli, account, *extra, bucket=BUCKET, hooks=(), **kwargs):
    return cli(
        "root",
        "unlock-bucket",
        "--account",
        account,
        "--bucket",
        bucket,
        "--reason",
        "INC-77: deploy wrote a deny-all bucket policy",
        "--ticket",
        "INC-77",
        "--region",
        REGION,
        *extra,
        hooks=list(hooks),
        **kwargs,
    )


def unlock_queue(cli, account, url, *extra, hooks=(), **kwargs):
    return cli(
        "root",
        "unlock-queue",
        "--account",
        account,
        "--queue-url",
        url,
        "--reason",
        "INC-78: deny-all queue policy",
        *extra,
        hooks=list(hooks),
        **kwargs,
    )


def journal(rt_or_store, incident_id: str) -> list[Any]:
    store = getattr(rt_or_store, "store", rt_or_store)
    return store.entries(incident_id)


def policy_reads(entries) -> list[dict[str, Any]]:
    return [e.data for e in entries if e.kind == "policy-read"]
