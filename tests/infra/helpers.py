"""Helpers for the infra tests: the template parsed with cfn-lint's decoder and a tiny intrinsic resolver
(infra/package.py loaded as a module: lakehouse/infra.py)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from lakehouse.infra import TEMPLATE

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Values the resolver gives to parameters and pseudo parameters: what a real dev deploy would look like.
TEST_PARAMETERS: dict[str, str] = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::StackName": "lakehouse-dev",
    "AWS::NoValue": "",
}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(path))


class Resolver:
    """Resolves Ref / Fn::Sub / Fn::GetAtt / Fn::If / Fn::Join / Fn::Select / Fn::Split / conditions with parameter defaults (plus overrides)
    and fake physical ids, enough to read the values the template hands to the function and the job."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, str] | None = None) -> None:
        self.template = template
        self.values: dict[str, str] = dict(TEST_PARAMETERS)
        for name, spec in template.get("Parameters", {}).items():
            if "Default" in spec:
                self.values[name] = str(spec["Default"])
        required = {
            "Env": "dev",
            "PandasLayerArn": "arn:aws:lambda:us-east-1:123456789012:layer:AWSSDKPandas-Python312:1",
        }
        self.values.update({**required, **(overrides or {})})
        physical = {
            "LakeBucket": f"lakehouse-dev-lake-{self.values['AWS::AccountId']}-{self.values['AWS::Region']}",
            "AccessLogBucket": "lakehouse-dev-access-logs",
        }
        for name in template.get("Resources", {}):
            self.values.setdefault(name, physical.get(name, f"physical-{name}"))
        # Resources that Ref to a name given in their properties resolve to that name.
        for name, res in template["Resources"].items():
            props = res.get("Properties", {})
            for key in ("Name", "BucketName", "FunctionName", "QueueName", "TopicName"):
                if key in props:
                    self.values[name] = self.resolve(props[key])
            if res["Type"] == "AWS::Glue::Database":
                self.values[name] = self.resolve(props["DatabaseInput"]["Name"])

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict):
            if len(node) == 1:
                ((key, arg),) = node.items()
                if key == "Ref":
                    return self.values[arg]
                if key == "Fn::Sub":
                    text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                    return self._sub(text, {k: self.resolve(v) for k, v in extra.items()})
                if key == "Fn::GetAtt":
                    res, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                    return self._attribute(res, attr)
                if key == "Fn::If":
                    cond, yes, no = arg
                    return self.resolve(yes if self.condition(cond) else no)
                if key == "Fn::Join":
                    sep, items = arg
                    return sep.join(str(self.resolve(i)) for i in items)
                if key == "Fn::Select":
                    index, items = arg
                    return self.resolve(items)[int(index)]
                if key == "Fn::Split":
                    sep, text = arg
                    return str(self.resolve(text)).split(sep)
                if key == "Fn::Equals":
                    return str(self.resolve(arg[0])) == str(self.resolve(arg[1]))
                if key == "Fn::Not":
                    return not self.resolve(arg[0])
                if key == "Fn::And":
                    return all(self.resolve(a) for a in arg)
                if key == "Fn::Or":
                    return any(self.resolve(a) for a in arg)
                if key == "Condition":
                    return self.condition(arg)
            return {k: self.resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        return node

    def _attribute(self, res: str, attr: str) -> str:
        if attr == "Arn" and self.template["Resources"][res]["Type"] == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{self.values[res]}"
        return f"arn:aws:fake:::{self.values[res]}/{attr}"

    def _sub(self, text: str, extra: dict[str, Any]) -> str:
        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                return str(extra[name])
            if "." in name:
                return self._attribute(*name.split(".", 1))
            return str(self.values[name])

        return re.sub(r"\$\{([^}]+)\}", repl, text)
