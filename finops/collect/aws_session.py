"""boto3 clients from the default credential chain, and AWS errors as one line saying what to fix.

Credentials are never read or passed by finops: boto3 finds them (environment, ~/.aws, SSO, instance
role). `endpoint_url` (or AWS_ENDPOINT_URL, which botocore reads itself) points at an S3-compatible
store or a local stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from finops.config import AwsSettings
from finops.errors import ConfigError, InputError

_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "UnauthorizedOperation",
    "403",
}


def client(service: str, aws: AwsSettings) -> Any:
    """A boto3 client for `service` with the configured profile, region and endpoint."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.Session(profile_name=aws.profile, region_name=aws.region)
    except ProfileNotFound:
        raise ConfigError(
            f"AWS profile {aws.profile!r} is not in ~/.aws/config; fix --profile or [aws] profile"
        ) from None
    return session.client(
        service,
        endpoint_url=aws.endpoint_url or None,
        region_name=aws.region or session.region_name or "us-east-1",
        config=Config(retries={"max_attempts": 4, "mode": "standard"}),
    )


@contextmanager
def errors(what: str) -> Iterator[None]:
    """Turn boto errors raised while doing `what` (e.g. 's3://bucket/prefix') into one-line InputErrors."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        operation = exc.operation_name
        if code in _DENIED or status == 403:
            raise InputError(
                f"{what}: access denied ({code or status} on {operation}); the credentials boto3 found need "
                "permission for it (check AWS_PROFILE / --profile and the IAM policy)"
            ) from None
        if code == "NoSuchBucket":
            raise InputError(f"{what}: the bucket does not exist; check the bucket name and --region") from None
        if code in ("NoSuchKey", "404"):
            raise InputError(f"{what}: the object is missing ({operation}); the delivery may be incomplete") from None
        raise InputError(f"{what}: AWS refused {operation}: {code} {error.get('Message', '')}".rstrip()) from None
    except NoCredentialsError:
        raise InputError(
            f"{what}: no AWS credentials found; set AWS_PROFILE (or --profile), or the AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY environment variables, or run where an instance role applies"
        ) from None
    except EndpointConnectionError as exc:
        raise InputError(
            f"{what}: cannot reach {exc.kwargs.get('endpoint_url', 'AWS')}; check the network, "
            "--region and --endpoint-url"
        ) from None
    except BotoCoreError as exc:
        raise InputError(f"{what}: {exc}") from None
