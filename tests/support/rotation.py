"""The break-glass user whose credentials are rotated, and its secret in Secrets Manager."""

from __future__ import annotations

import json

USER = "breakglass-1"
SECRET = f"breakglass/{USER}"


def make_user(iam, sm, keys=0, inactive=0, login=False, policy=None):
    iam.create_user(UserName=USER)
    sm.create_secret(Name=SECRET, SecretString=json.dumps({"note": "initial"}))
    made = [iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"] for _ in range(keys)]
    for key in made[:inactive]:
        iam.update_access_key(UserName=USER, AccessKeyId=key, Status="Inactive")
    if login:
        iam.create_login_profile(UserName=USER, Password="Old-passw0rd!")
    if policy:
        iam.update_account_password_policy(**policy)
    return made


def secret(sm, stage="AWSCURRENT"):
    return json.loads(sm.get_secret_value(SecretId=SECRET, VersionStage=stage)["SecretString"])


def keys(iam):
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]}
