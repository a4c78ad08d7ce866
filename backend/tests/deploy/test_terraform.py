"""Offline checks of deploy/terraform: every file parses, and what `terraform validate` would catch
without provider downloads: module arguments against the module's variables, references to
variables, locals and module outputs, typed and described variables, remote state with locking."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.infra import ROOT, TERRAFORM, load_hcl, read_tf_dir, terraform_dirs, terraform_files, unquote

META_ARGUMENTS = {"source", "version", "providers", "count", "for_each", "depends_on"}
VAR_REF = re.compile(r"\bvar\.(\w+)")
LOCAL_REF = re.compile(r"\blocal\.(\w+)")
MODULE_REF = re.compile(r"\bmodule\.(\w+)(?:\[[^\]]*\])?\.(\w+)")


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


ENVIRONMENTS = TERRAFORM / "environments"


def test_there_is_terraform_to_check() -> None:
    assert len(terraform_files()) > 20
    assert (ENVIRONMENTS / "main.tf").is_file()
    assert {"staging", "production"} <= set(read_tf_dir(ENVIRONMENTS).locals["profiles"])


@pytest.mark.parametrize("path", terraform_files(), ids=rel)
def test_every_file_parses(path: Path) -> None:
    parsed = load_hcl(path)
    assert parsed, f"{rel(path)} is empty"


@pytest.mark.parametrize("directory", terraform_dirs(), ids=rel)
def test_module_calls_match_the_modules_variables(directory: Path) -> None:
    here = read_tf_dir(directory)
    for name, call in here.modules.items():
        target = read_tf_dir((directory / call["source"]).resolve())
        given = set(call) - META_ARGUMENTS
        unknown = given - set(target.variables)
        assert not unknown, f"{rel(directory)} module.{name}: {sorted(unknown)} are not variables of {call['source']}"
        required = {v for v, body in target.variables.items() if "default" not in body}
        assert required <= given, f"{rel(directory)} module.{name}: missing {sorted(required - given)}"


@pytest.mark.parametrize("directory", terraform_dirs(), ids=rel)
def test_references_resolve(directory: Path) -> None:
    here = read_tf_dir(directory)
    everything = [load_hcl(p) for p in sorted(directory.glob("*.tf"))]
    for text in strings(everything):
        for var in VAR_REF.findall(text):
            assert var in here.variables, f"{rel(directory)}: var.{var} is not declared"
        for local in LOCAL_REF.findall(text):
            assert local in here.locals, f"{rel(directory)}: local.{local} is not defined"
        for module, output in MODULE_REF.findall(text):
            assert module in here.modules, f"{rel(directory)}: module.{module} is not called"
            target = read_tf_dir((directory / here.modules[module]["source"]).resolve())
            assert output in target.outputs, f"{rel(directory)}: module.{module} has no output {output}"


@pytest.mark.parametrize("directory", terraform_dirs(), ids=rel)
def test_variables_are_typed_and_described_and_outputs_described(directory: Path) -> None:
    here = read_tf_dir(directory)
    for name, body in here.variables.items():
        assert body.get("type"), f"{rel(directory)}: variable {name} has no type"
        assert body.get("description"), f"{rel(directory)}: variable {name} has no description"
    for name, body in here.outputs.items():
        assert body.get("description"), f"{rel(directory)}: output {name} has no description"


def test_environments_keep_remote_state_with_locking_one_state_per_workspace() -> None:
    blocks = [b for p in sorted(ENVIRONMENTS.glob("*.tf")) for b in load_hcl(p).get("terraform", [])]
    backends = [b["backend"] for b in blocks if "backend" in b]
    assert len(backends) == 1, "one backend block"
    s3 = unquote(backends[0][0]['"s3"'])
    assert s3["use_lockfile"] is True and s3["encrypt"] is True
    # morket/<workspace>/terraform.tfstate: where each environment's state was before they shared code.
    assert (s3["workspace_key_prefix"], s3["key"]) == ("morket", "terraform.tfstate")
    # The workspace (the state) and the tfvars file must name the same environment.
    guard = read_tf_dir(ENVIRONMENTS).resources["terraform_data.environment"]
    (precondition,) = guard["lifecycle"][0]["precondition"]
    assert precondition["condition"] == "${var.environment == terraform.workspace}"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_each_environment_has_a_tfvars_example_of_its_own(environment: str) -> None:
    values = unquote(load_hcl(ENVIRONMENTS / f"{environment}.tfvars.example"))
    variables = read_tf_dir(ENVIRONMENTS).variables
    assert values["environment"] == environment
    assert set(values) <= set(variables), f"not variables: {sorted(set(values) - set(variables))}"
    required = {v for v, body in variables.items() if "default" not in body}
    assert required <= set(values), f"missing: {sorted(required - set(values))}"


def test_the_stack_takes_every_value_of_the_environments_profile() -> None:
    """Environments differ in values only: each profile has the same keys, all passed to the stack."""
    here = read_tf_dir(ENVIRONMENTS)
    profiles = here.locals["profiles"]
    assert here.locals["profile"] == "${local.profiles[var.environment]}"
    keys = {name: set(profile) for name, profile in profiles.items()}
    assert keys["staging"] == keys["production"]
    stack = here.modules["morket"]
    for key in keys["production"]:
        assert stack[key] == f"${{local.profile.{key}}}", key


def _stack_arguments(environment: str) -> dict[str, Any]:
    profile: dict[str, Any] = read_tf_dir(ENVIRONMENTS).locals["profiles"][environment]
    return profile


def test_production_is_multi_az_and_autoscaled_and_staging_is_reduced() -> None:
    production, staging = _stack_arguments("production"), _stack_arguments("staging")
    assert production["az_count"] >= 3 and production["single_nat_gateway"] is False
    assert production["deletion_protection"] is True
    assert production["aurora"]["reader_count"] >= 1 and production["redis"]["replicas"] >= 1
    assert production["opensearch"]["zone_count"] >= 2 and production["clickhouse"]["node_count"] >= 3
    for service, size in production["sizes"].items():
        assert size["min"] >= 2 and size["max"] > size["min"], f"production {service} must be redundant and scale"
        assert size["max"] >= staging["sizes"][service]["max"]
    assert staging["az_count"] <= production["az_count"]
    # The seed's limits for the scraper: 2 vCPU, 4 GB per task.
    assert all(
        env["sizes"]["scraper"]["cpu"] == 2048 and env["sizes"]["scraper"]["memory"] == 4096
        for env in (production, staging)
    )


def test_every_bucket_is_private_versioned_encrypted_and_expiring() -> None:
    """What checkov cannot link through for_each: each setting covers every bucket of the module."""
    s3 = read_tf_dir(TERRAFORM / "modules" / "s3")
    for kind in (
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_ownership_controls",
    ):
        assert s3.resources[f"{kind}.this"]["for_each"] == "${aws_s3_bucket.this}", kind
    assert s3.resources["aws_s3_bucket_public_access_block.this"]["block_public_policy"] is True


def test_both_web_acls_carry_the_log4j_rules() -> None:
    """The ALB and CloudFront attach modules/waf ACLs; the known-bad-inputs group covers Log4Shell."""
    waf = read_tf_dir(TERRAFORM / "modules" / "waf")
    rules = waf.resources["aws_wafv2_web_acl.this"]["rule"]
    names = {rule["name"] for rule in rules}
    assert "AWSManagedRulesKnownBadInputsRuleSet" in names
    stack = read_tf_dir(TERRAFORM / "modules" / "stack")
    assert stack.modules["alb"]["waf_acl_arn"] == "${module.waf_regional.arn}"
    assert stack.modules["cdn"]["web_acl_arn"] == "${module.waf_edge.arn}"
