"""The least a `role assume` process can do: GetCallerIdentity then AssumeRole with botocore, and
print the credentials as JSON (`python -m benchmarks.assume_floor_worker [--records]`). With
`--records` it first imports the incident records (pydantic models) every incident is written
with, as `role assume` must before it may hand out credentials."""

from __future__ import annotations

import json
import sys

if "--records" in sys.argv:
    import breakglass_aws.models  # noqa: F401

import botocore.session

from benchmarks.role_assume import MFA, ROLE


def main() -> None:
    sts = botocore.session.Session().create_client("sts", region_name="us-east-1")
    sts.get_caller_identity()
    answer = sts.assume_role(
        RoleArn=ROLE,
        RoleSessionName="breakglass-floor",
        SourceIdentity="oncall",
        Tags=[{"Key": "breakglass:incident", "Value": "floor"}, {"Key": "breakglass:ticket", "Value": "INC-1"}],
        SerialNumber=MFA,
        TokenCode="123456",
        DurationSeconds=3600,
    )
    creds = answer["Credentials"]
    print(json.dumps({"Version": 1, "AccessKeyId": creds["AccessKeyId"], "Expiration": str(creds["Expiration"])}))


if __name__ == "__main__":
    main()
