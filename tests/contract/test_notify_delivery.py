"""What each kind of SNS subscriber really receives from `SnsNotifier` (`MessageStructure=json`):
an SQS queue the structured JSON (in SNS's envelope or raw), a mailbox plain text, an HTTPS
endpoint the custom notification of AWS's chat integration; and every message stays under SNS's
size limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from breakglass_aws.aws import ClientFactory
from breakglass_aws.models import Incident, IncidentStatus, Mode, Requester, new_incident_id
from breakglass_aws.notice_format import MESSAGE_MAX, structured
from breakglass_aws.notify import SnsNotifier, message_for
from breakglass_aws.testing import MotoServer
from tests.conftest import ACCOUNT, _shared_botocore
from tests.support.webhook import Webhook, self_signed

REGION = "us-east-1"
AT = "2026-01-02T03:04:05Z"


def incident() -> Incident:
    now = datetime.now(UTC)
    return Incident(
        incident_id=new_incident_id(now),
        mode=Mode.SCP,
        status=IncidentStatus.ACTIVE,
        requester=Requester(arn=f"arn:aws:iam::{ACCOUNT}:user/alice", account=ACCOUNT, user_id="AIDA1", name="alice"),
        reason="deploy role locked out by DenyOutsideEU",
        ticket="INC-42",
        targets=["111111111111"],
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )


def publish(factory: ClientFactory, topic_arn: str, detail: str | None = None) -> tuple[Incident, str]:
    """One `activated` notice, as the incident code sends it."""
    inc = incident()
    message, subject = message_for(inc, "activated", detail, AT)
    SnsNotifier(factory, topic_arn).publish(message, subject)
    return inc, subject


STRUCTURES: list[str | None] = []  # the MessageStructure of each Publish the in-process factory sent


def in_process() -> ClientFactory:
    STRUCTURES.clear()

    def seen(params: dict[str, Any], **_: Any) -> None:
        STRUCTURES.append(params.get("MessageStructure"))

    hooks = [("before-parameter-build.sns.Publish", seen)]
    return ClientFactory(botocore_session=_shared_botocore(), max_attempts=1, hooks=hooks)


def topic_with_queue(raw: bool) -> tuple[str, Any, str]:
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    arn = sns.create_topic(Name="breakglass-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)
    if raw:
        sns.set_subscription_attributes(
            SubscriptionArn=sub["SubscriptionArn"], AttributeName="RawMessageDelivery", AttributeValue="true"
        )
    return arn, sqs, queue


def only_body(sqs: Any, queue: str) -> str:
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    return str(messages[0]["Body"])


def delivered(topic_arn: str, protocol: str) -> str:
    """What SNS hands a subscriber of `protocol` for the last message published to the topic (with
    `MessageStructure=json`, moto's own choice of the variant): for protocols moto does not
    deliver itself, such as email."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    message = last_published(topic_arn)
    if STRUCTURES[-1] != "json":
        return message
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    [sub] = [s for s in backend.subscriptions.values() if s.topic.arn == topic_arn and s.protocol == protocol]
    return str(sub._parse_message_structure(message, protocol))


def last_published(topic_arn: str) -> str:
    """The message as published (the whole `MessageStructure=json` object)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return str(sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[topic_arn].sent_notifications[-1][1])


def assert_structured(body: dict[str, Any], inc: Incident) -> None:
    assert body["source"] == "breakglass-aws" and body["event"] == "activated" and body["at"] == AT
    assert body["incident_id"] == inc.incident_id and body["mode"] == "scp" and body["targets"] == inc.targets
    assert body["reason"] == inc.reason and body["requester"] == "alice" and "detail" in body
    assert not {"default", "version", "content"} & set(body), "a machine gets the structured JSON itself"


@pytest.mark.parametrize("raw", [False, True], ids=["enveloped", "raw"])
def test_an_sqs_subscriber_gets_the_structured_json(aws: None, raw: bool) -> None:
    arn, sqs, queue = topic_with_queue(raw)
    inc, subject = publish(in_process(), arn)
    body = json.loads(only_body(sqs, queue))
    if not raw:
        assert body["Type"] == "Notification" and body["Subject"] == subject
        body = json.loads(body["Message"])
    assert_structured(body, inc)
    assert body["who"] == body["actor"] and body["who_arn"].startswith("arn:aws:")


def test_a_mailbox_gets_plain_text_and_email_json_the_structured_json(aws: None) -> None:
    arn, _, _ = topic_with_queue(raw=True)
    sns = boto3.client("sns", region_name=REGION)
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="oncall@example.com")
    sns.subscribe(TopicArn=arn, Protocol="email-json", Endpoint="audit@example.com")
    inc, subject = publish(in_process(), arn)
    assert STRUCTURES == ["json"]
    text = delivered(arn, "email")
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    lines = text.splitlines()
    assert lines[0] == subject and inc.incident_id in subject
    for line in (f"incident_id: {inc.incident_id}", "event: activated", "mode: scp", f"reason: {inc.reason}"):
        assert line in lines
    assert "ticket: INC-42" in lines and "targets: 111111111111" in lines and "status: active" in lines
    assert not [line for line in lines if line.endswith(": None")], "a field without a value is left out"
    assert not [line for line in lines if line.startswith("detail:")]
    assert f"breakglass show {inc.incident_id}" in text
    assert_structured(json.loads(delivered(arn, "email-json")), inc)


def test_an_error_quoted_in_the_detail_reaches_people_without_its_secret(aws: None) -> None:
    arn, _, _ = topic_with_queue(raw=True)
    sns = boto3.client("sns", region_name=REGION)
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="oncall@example.com")
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    publish(in_process(), arn, detail=f"rotation failed: SecretAccessKey={secret}")
    text = delivered(arn, "email")
    assert "detail: rotation failed: SecretAccessKey=[REDACTED]" in text.splitlines() and secret not in text
    chat = json.loads(json.loads(last_published(arn))["https"])  # in-process moto would really POST it
    assert secret not in json.dumps(chat) and "[REDACTED]" in chat["content"]["description"]


@pytest.mark.parametrize("words", [20_000, 52_000], ids=["fits-per-protocol", "only-the-json-fits"])
def test_a_long_detail_stays_under_sns_limit(aws: None, words: int) -> None:
    arn, sqs, queue = topic_with_queue(raw=True)
    boto3.client("sns", region_name=REGION).subscribe(TopicArn=arn, Protocol="email", Endpoint="oncall@example.com")
    detail = "word " * words  # 100 kB, then 260 kB
    inc, _ = publish(in_process(), arn, detail=detail)
    body = json.loads(only_body(sqs, queue))
    assert body["detail"] == detail, "machines always get the whole detail"
    assert len(last_published(arn).encode()) <= MESSAGE_MAX
    text = delivered(arn, "email")
    if words == 20_000:
        assert STRUCTURES == ["json"]
        assert len(text) < 10_000 and f"incident_id: {inc.incident_id}" in text, "a person gets a short text"
    else:
        assert STRUCTURES == [None]
        assert json.loads(text)["detail"] == detail, "too large to render twice: everyone gets the JSON"


def test_the_structured_message_has_a_string_per_protocol_and_respects_the_limit() -> None:
    inc = incident()
    message, subject = message_for(inc, "activated", None, AT)
    variants = json.loads(structured(message, subject) or "{}")
    assert set(variants) == {"default", "sqs", "lambda", "email", "https", "http"}
    assert all(isinstance(v, str) for v in variants.values())
    assert variants["sqs"] == variants["lambda"] == variants["default"] == json.dumps(message, sort_keys=True)
    assert variants["http"] == variants["https"]
    for words in (20_000, 50_000, 52_000):
        big = structured({**message, "detail": "word " * words}, subject)
        assert big is None or len(big.encode()) <= MESSAGE_MAX


# An HTTPS subscriber: moto in server mode really POSTs to it; it trusts the endpoint's
# self-signed certificate through REQUESTS_CA_BUNDLE, inherited by the server process.
@pytest.fixture
def hook(tmp_path: Any) -> Iterator[Webhook]:
    cert, key = self_signed(tmp_path)
    server = Webhook(cert, key).start()
    yield server
    server.stop()


@pytest.fixture
def moto_server(hook: Webhook, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(hook.cert))
    server = MotoServer().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    yield server
    server.stop()


def confirm_if_asked(sns: Any, hook: Webhook, topic_arn: str) -> None:
    """AWS POSTs a SubscriptionConfirmation first (moto 5 confirms by itself and sends none)."""
    while not hook.received.empty():
        post = hook.next()["body"]
        assert post["Type"] == "SubscriptionConfirmation", post
        sns.confirm_subscription(TopicArn=topic_arn, Token=post["Token"])


def test_an_https_subscriber_gets_the_chat_notification(hook: Webhook, moto_server: MotoServer) -> None:
    factory = ClientFactory(max_attempts=1)  # a session of its own: it reads AWS_ENDPOINT_URL
    sns = factory.client("sns", REGION)
    arn = sns.create_topic(Name="breakglass-alerts")["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="https", Endpoint=hook.url)
    confirm_if_asked(sns, hook, arn)
    [sub] = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert sub["SubscriptionArn"].startswith(arn), "the subscription is confirmed"
    inc, subject = publish(factory, arn)
    post = hook.next()
    assert post["path"] == "/hook"
    envelope = post["body"]
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == arn and envelope["Subject"] == subject
    notice = json.loads(envelope["Message"])
    assert notice["version"] == "1.0" and notice["source"] == "custom"
    content, metadata = notice["content"], notice["metadata"]
    assert content["textType"] == "client-markdown" and content["title"] == subject
    assert inc.incident_id in content["title"] and f"*incident_id:* {inc.incident_id}" in content["description"]
    assert f"*reason:* {inc.reason}" in content["description"]
    assert content["nextSteps"] == [f"`breakglass show {inc.incident_id}`"]
    assert metadata["threadId"] == inc.incident_id and metadata["eventType"] == "activated"
    assert metadata["summary"] == subject and metadata["relatedResources"] == inc.targets
    context = metadata["additionalContext"]
    assert context["incident_id"] == inc.incident_id and context["mode"] == "scp"
    assert all(isinstance(v, str) for v in context.values())
    assert notice["id"].startswith(inc.incident_id)
    assert hook.received.empty(), "one publish, one delivery"
