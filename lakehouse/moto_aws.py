"""moto's server, in-process, holding what the stack's template creates: the Athena stand-in
(lakehouse/athena_local) deploys the stack into it, and the infra tests run infra/scripts/*.sh against it with
the real AWS CLI (awscli, from requirements/dev.txt).

Clients reach it through AWS_ENDPOINT_URL, which boto3 and the CLI honour for every service. The account is a new
one: Lambda's concurrency quota is 10 (MOTO_LAMBDA_CONCURRENCY_QUOTA), so any reserved concurrency is refused
(AWS keeps 100 unreserved). Four gaps in moto's CloudFormation are closed here, for this process only (undo()
restores moto):

* a stack created or updated through a change set (what `aws cloudformation deploy` does) keeps the template
  and the outputs it had before: moto never re-reads them after ChangeSet.apply, so describe-stacks would show
  no Outputs at all. apply() now refreshes both, as CloudFormation does.
* a function created by CloudFormation with ReservedConcurrentExecutions skips moto's quota check (Lambda's
  PutFunctionConcurrency); it now goes through it, as in Lambda, so the stack fails on a quota that refuses it.
  Its Layers are dropped by moto's create (only its update reads them); they are now set, as CreateFunction does.
  (A function first created by a stack update, as deploy.sh's phase 2 does since the first create gets a template
  without compute, goes through that create.)
* a template passed by URL (`aws cloudformation deploy --s3-bucket`, as deploy.sh does for a template over the
  51,200-byte inline limit) is read from moto's S3 only when the URL's host is `localhost` or an amazonaws.com
  host: the CLI's path-style URL of this server (http://127.0.0.1:<port>/<bucket>/<key>) would be taken for a
  bucket named "127". A URL of this server is read path-style.
* AWS::Glue::Database, AWS::Glue::Table and AWS::Athena::WorkGroup have no CloudFormation support in moto: the
  stack would skip them and every output that refers to them (the dbt schema, silver database and workgroup).
  They are handed to moto's own Glue and Athena backends, so they exist for the Glue and Athena APIs like any
  other resource (the Athena stand-in, lakehouse/athena_local, reads the silver tables and their projection there).

Every other type moto's CloudFormation does not know (bucket, topic and queue policies, alarms, Glue
jobs, triggers and security configuration, the Lambda's EventInvokeConfig) is skipped by moto with a warning
(moto.cloudformation.parsing.parse_resource returns None): the stack still completes, without them, and without
the SilverJobName output. moto's buckets made by CloudFormation also ignore VersioningConfiguration: the tests
turn versioning on through the S3 API."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from moto.athena.models import athena_backends
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation import responses as cfn_responses
from moto.glue.models import glue_backends
from moto.server import ThreadedMotoServer

ACCOUNT, REGION = "123456789012", "eu-west-1"
# A new account's Lambda concurrency quota (AWS raises it on request).
QUOTA_VARIABLE, NEW_ACCOUNT_LAMBDA_QUOTA = "MOTO_LAMBDA_CONCURRENCY_QUOTA", "10"


class _Resource:
    """What moto's CloudFormation needs of a resource: a physical id (what Ref gives), create, update, delete."""

    cf_type = ""
    # moto's backends of the service, by account and region
    backends: Any = None
    create: Callable[[Any, str, dict[str, Any]], None]
    drop: Callable[[Any, str], None]

    def __init__(self, name: str, account_id: str, region_name: str) -> None:
        self.physical_resource_id = name
        self.account_id, self.region_name = account_id, region_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.cf_type

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    def is_created(self) -> bool:
        return True

    @classmethod
    def backend(cls, account_id: str, region_name: str) -> Any:
        return cls.backends[account_id][region_name]

    @classmethod
    def name_of(cls, props: dict[str, Any]) -> str:
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> _Resource:
        props = cloudformation_json["Properties"]
        name = cls.name_of(props)
        cls.create(cls.backend(account_id, region_name), name, props)
        return cls(name, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: _Resource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _Resource:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        type(self).drop(self.backend(account_id, region_name), self.physical_resource_id)


class GlueDatabase(_Resource):
    cf_type = "AWS::Glue::Database"
    backends = glue_backends

    @classmethod
    def name_of(cls, props: dict[str, Any]) -> str:
        return str(props["DatabaseInput"]["Name"])

    @staticmethod
    def create(backend: Any, name: str, props: dict[str, Any]) -> None:
        backend.create_database(name, props["DatabaseInput"])

    @staticmethod
    def drop(backend: Any, name: str) -> None:
        backend.delete_database(name)


class GlueTable(_Resource):
    """Named `<database>.<table>`; DependsOn is implicit (the database is a Ref in the properties)."""

    cf_type = "AWS::Glue::Table"
    backends = glue_backends

    @classmethod
    def name_of(cls, props: dict[str, Any]) -> str:
        return f"{props['DatabaseName']}.{props['TableInput']['Name']}"

    @staticmethod
    def create(backend: Any, name: str, props: dict[str, Any]) -> None:
        backend.create_table(props["DatabaseName"], props["TableInput"]["Name"], props["TableInput"])

    @staticmethod
    def drop(backend: Any, name: str) -> None:
        database, table = name.split(".", 1)
        backend.delete_table(database, table)


class AthenaWorkGroup(_Resource):
    cf_type = "AWS::Athena::WorkGroup"
    backends = athena_backends

    @classmethod
    def name_of(cls, props: dict[str, Any]) -> str:
        return str(props["Name"])

    @staticmethod
    def create(backend: Any, name: str, props: dict[str, Any]) -> None:
        backend.create_work_group(
            name, props.get("WorkGroupConfiguration", {}), props.get("Description", ""), props.get("Tags", [])
        )

    @staticmethod
    def drop(backend: Any, name: str) -> None:
        backend.delete_work_group(name)


class MotoServer:
    """moto's server on a free port of 127.0.0.1, with the CloudFormation gaps above closed while it runs."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> str:
        self._patch()
        self._set_lambda_quota()
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self.server.stop()
        for undo in reversed(self._undo):
            undo()

    def _set_lambda_quota(self) -> None:
        previous = os.environ.get(QUOTA_VARIABLE)
        os.environ[QUOTA_VARIABLE] = NEW_ACCOUNT_LAMBDA_QUOTA

        def undo() -> None:
            if previous is None:
                os.environ.pop(QUOTA_VARIABLE, None)
            else:
                os.environ[QUOTA_VARIABLE] = previous

        self._undo.append(undo)

    def _patch(self) -> None:
        apply, model_map = cfn_models.ChangeSet.apply, cfn_parsing.get_model_map
        create_function = LambdaFunction.__dict__["create_from_cloudformation_json"]

        def create_function_within_quota(
            cls: type, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
            **kwargs: Any,
        ) -> Any:  # fmt: skip
            function = create_function.__func__(
                cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
            )
            layers = cloudformation_json["Properties"].get("Layers")
            if layers:
                function.update_configuration({"Layers": layers})
            reserved = cloudformation_json["Properties"].get("ReservedConcurrentExecutions")
            # CreateFunction, then PutFunctionConcurrency, as CloudFormation does
            if reserved is not None:
                backend = lambda_backends[account_id][region_name]
                backend.put_function_concurrency(function.function_name, str(reserved))
            return function

        def apply_and_refresh(change_set: Any) -> None:
            apply(change_set)
            stack = change_set.stack
            stack.template = change_set.template
            stack._parse_template()
            stack.output_map = stack._create_output_map()

        def extended_model_map() -> dict[str, Any]:
            return {
                **model_map(),
                GlueDatabase.cf_type: GlueDatabase,
                GlueTable.cf_type: GlueTable,
                AthenaWorkGroup.cf_type: AthenaWorkGroup,
            }

        read_url = cfn_responses.get_stack_from_s3_url

        def read_url_of_this_server(template_url: str, account_id: str, partition: str) -> str:
            parts = urlparse(template_url)
            # this server, path-style: /<bucket>/<key>
            if not parts.netloc.endswith("amazonaws.com"):
                template_url = f"http://localhost{parts.path}"
            return read_url(template_url, account_id=account_id, partition=partition)

        cfn_responses.get_stack_from_s3_url = read_url_of_this_server
        cfn_models.ChangeSet.apply = apply_and_refresh  # type: ignore[method-assign]
        LambdaFunction.create_from_cloudformation_json = classmethod(create_function_within_quota)  # type: ignore[assignment,method-assign]
        cfn_parsing.get_model_map = extended_model_map  # type: ignore[assignment]

        def undo() -> None:
            cfn_responses.get_stack_from_s3_url = read_url
            cfn_models.ChangeSet.apply = apply  # type: ignore[method-assign]
            LambdaFunction.create_from_cloudformation_json = create_function  # type: ignore[method-assign]
            cfn_parsing.get_model_map = model_map  # type: ignore[assignment]

        self._undo.append(undo)


@contextmanager
def enforcing_iam(url: str) -> Iterator[None]:
    """While inside, moto's server checks every request as AWS does: a known access key, a valid signature and an
    IAM policy that allows the action (outside, it allows everything)."""

    def reset_auth(count: str) -> None:
        request = urllib.request.Request(
            f"{url}/moto-api/reset-auth",
            data=count.encode(),
            method="POST",
            # a form body would be parsed away before moto reads it
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(request).close()

    reset_auth("0")
    try:
        yield
    finally:
        reset_auth("inf")
