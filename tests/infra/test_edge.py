"""The packaged template's AWS-only parts (infra/edge.yaml merged by infra/package.py), which
moto cannot run: CloudFront routing, the SPA rewrite, headers, API Gateway's own errors,
throttling, and the Lambda's wiring to the tables and keys."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from chalicelib.api.headers import CONTENT_SECURITY_POLICY, security_headers
from chalicelib.store.catalogue import TABLE_ENV
from local import stack
from tests.infra.packaging import REPO, load_template, packaged_template

API_PATTERNS = {"/api/*", "/api", "/oauth/*", "/account"}
# The contract's error codes (API.md), plus the app's own 500 code.
CONTRACT_CODES = {"invalid_request", "invalid_code", "unauthenticated", "session_revoked",
                  "invalid_credentials", "forbidden", "password_incorrect", "not_found",
                  "method_not_allowed", "conflict", "payload_too_large", "unsupported_media_type",
                  "rate_limited", "internal_error"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return packaged_template("prod")


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def distribution(resources: dict[str, Any]) -> dict[str, Any]:
    return resources["Distribution"]["Properties"]["DistributionConfig"]


def behaviours(distribution: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["PathPattern"]: b for b in distribution["CacheBehaviors"]}


def origins(distribution: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["Id"]: o for o in distribution["Origins"]}


def test_the_data_resources_are_the_data_templates_unchanged(resources: dict[str, Any]) -> None:
    data = load_template(stack.TEMPLATE_PATH)["Resources"]
    for logical_id, resource in data.items():
        assert resources[logical_id] == resource, logical_id


def test_the_stage_parameter_is_pinned_to_the_packaged_stage(template: dict[str, Any]) -> None:
    stage = template["Parameters"]["Stage"]
    assert stage["Default"] == "prod" and stage["AllowedValues"] == ["prod"]


def test_api_paths_go_to_api_gateway_and_the_rest_to_s3(distribution: dict[str, Any]) -> None:
    found = behaviours(distribution)
    assert set(found) == API_PATTERNS
    assert all(b["TargetOriginId"] == "api" for b in found.values())
    assert distribution["DefaultCacheBehavior"]["TargetOriginId"] == "frontend"
    assert "CustomErrorResponses" not in distribution  # they would hide the API's 404s


def test_api_origin_is_the_rest_api_stage(distribution: dict[str, Any]) -> None:
    api = origins(distribution)["api"]
    stage = json.loads((REPO / ".chalice" / "config.json").read_text())["api_gateway_stage"]
    assert api["OriginPath"] == f"/{stage}" == "/v1"
    assert api["DomainName"] == {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def test_front_end_origin_is_a_private_bucket_behind_origin_access_control(
    resources: dict[str, Any], distribution: dict[str, Any]
) -> None:
    frontend = origins(distribution)["frontend"]
    assert frontend["DomainName"] == {"Fn::GetAtt": ["FrontendBucket", "RegionalDomainName"]}
    assert frontend["OriginAccessControlId"] == {"Fn::GetAtt": ["FrontendOriginAccessControl", "Id"]}
    assert frontend["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    block = resources["FrontendBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True)
    (reads, tls) = resources["FrontendBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert reads["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert "${Distribution}" in reads["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert set(reads["Action"]) == {"s3:GetObject", "s3:ListBucket"}
    assert tls["Effect"] == "Deny"


def test_api_behaviours_cache_nothing_and_forward_what_the_app_reads(
    resources: dict[str, Any], distribution: dict[str, Any]
) -> None:
    cache = resources["ApiCachePolicy"]["Properties"]["CachePolicyConfig"]
    assert (cache["DefaultTTL"], cache["MinTTL"]) == (0, 0) and cache["MaxTTL"] <= 1
    keyed = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    # CloudFront refuses Authorization in an origin request policy: it must be here.
    assert keyed["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}
    origin = resources["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert {h.lower() for h in origin["HeadersConfig"]["Headers"]} == {
        "x-requested-with", "content-type", "accept", "heroku-two-factor-code", "user-agent",
        "cloudfront-viewer-address"}
    assert "host" not in {h.lower() for h in origin["HeadersConfig"]["Headers"]}
    assert origin["CookiesConfig"] == {"CookieBehavior": "whitelist", "Cookies": ["twostep_session"]}
    assert origin["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    for behaviour in behaviours(distribution).values():
        assert behaviour["CachePolicyId"] == {"Ref": "ApiCachePolicy"}
        assert behaviour["OriginRequestPolicyId"] == {"Ref": "ApiOriginRequestPolicy"}
        assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
        assert "FunctionAssociations" not in behaviour  # the SPA rewrite never sees the API


def test_spa_rewrite_runs_only_on_the_s3_behaviour(distribution: dict[str, Any]) -> None:
    (association,) = distribution["DefaultCacheBehavior"]["FunctionAssociations"]
    assert association == {
        "EventType": "viewer-request",
        "FunctionARN": {"Fn::GetAtt": ["SpaRewriteFunction", "FunctionMetadata.FunctionARN"]},
    }


SPA_CASES = {
    "/": "/index.html",
    "/settings": "/index.html",
    "/login": "/index.html",
    "/settings/": "/index.html",
    "/account/security": "/index.html",
    "/index.html": "/index.html",
    "/js/main.js": "/js/main.js",
    "/js/views/account.js": "/js/views/account.js",
    "/css/app.css": "/css/app.css",
    "/favicon.ico": "/favicon.ico",
    "/api": "/api",
    "/api/x": "/api/x",
    "/api/account/sessions": "/api/account/sessions",
    "/oauth/authorizations": "/oauth/authorizations",
    "/account": "/account",
}


def test_spa_rewrite_logic_in_node(resources: dict[str, Any]) -> None:
    assert shutil.which("node"), "node runs the CloudFront Function's code here"
    props = resources["SpaRewriteFunction"]["Properties"]
    assert props["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    # The handler returns the (possibly rewritten) request.
    script = props["FunctionCode"] + (
        "\nconst uris = JSON.parse(process.argv[1]);"
        "\nconsole.log(JSON.stringify(uris.map(u => handler({request: {uri: u, headers: {}}}).uri)));"
    )
    done = subprocess.run(["node", "-e", script, json.dumps(list(SPA_CASES))],
                          capture_output=True, text=True, timeout=30, check=True)
    assert dict(zip(SPA_CASES, json.loads(done.stdout))) == SPA_CASES


def test_static_files_get_the_apis_security_headers(resources: dict[str, Any], distribution: dict[str, Any]) -> None:
    assert distribution["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": "StaticHeadersPolicy"}
    expected = security_headers(local=False)
    max_age = int(expected["Strict-Transport-Security"].split("max-age=")[1].split(";")[0])
    for name in ("StaticHeadersPolicy", "ApiHeadersPolicy"):
        config = resources[name]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        assert config["ContentSecurityPolicy"]["ContentSecurityPolicy"] == CONTENT_SECURITY_POLICY
        assert config["StrictTransportSecurity"]["AccessControlMaxAgeSec"] == max_age
        assert config["StrictTransportSecurity"]["IncludeSubdomains"] is True
        assert config["FrameOptions"]["FrameOption"] == expected["X-Frame-Options"]
        assert config["ReferrerPolicy"]["ReferrerPolicy"] == expected["Referrer-Policy"]
        assert "ContentTypeOptions" in config
    for behaviour in behaviours(distribution).values():
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "ApiHeadersPolicy"}


GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found"),  # an unknown path
    "RESOURCE_NOT_FOUND": ("404", "not_found"),
    "ACCESS_DENIED": ("403", "forbidden"),
    "UNAUTHORIZED": ("401", "unauthenticated"),
    "THROTTLED": ("429", "rate_limited"),
    "QUOTA_EXCEEDED": ("429", "rate_limited"),
    "REQUEST_TOO_LARGE": ("413", "payload_too_large"),
    "UNSUPPORTED_MEDIA_TYPE": ("415", "unsupported_media_type"),
    "BAD_REQUEST_BODY": ("400", "invalid_request"),
    "DEFAULT_4XX": (None, "invalid_request"),
    "DEFAULT_5XX": (None, "internal_error"),
}


def test_api_gateways_own_errors_speak_the_contract(resources: dict[str, Any]) -> None:
    body = resources["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert set(GATEWAY_RESPONSES) <= set(responses)
    for kind, response in responses.items():
        status, code = GATEWAY_RESPONSES.get(kind, (response.get("statusCode"), None))
        assert response.get("statusCode") == status, kind
        error = json.loads(response["responseTemplates"]["application/json"])
        assert set(error) == {"error"} and set(error["error"]) == {"code", "message"}, kind
        assert error["error"]["code"] in CONTRACT_CODES and (code is None or error["error"]["code"] == code), kind
        assert response["responseParameters"]["gatewayresponse.header.Cache-Control"] == "'no-store'"
    assert "gatewayresponse.header.Retry-After" in responses["THROTTLED"]["responseParameters"]


def test_stage_level_throttling(resources: dict[str, Any], template: dict[str, Any]) -> None:
    props = resources["RestAPI"]["Properties"]
    assert props["StageName"] == "v1" and props["EndpointConfiguration"] == "REGIONAL"
    (setting,) = props["MethodSettings"]
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}
    assert template["Parameters"]["ApiThrottleRateLimit"]["Type"] == "Number"
    # Sized for the platform (each client address is WAF's business, infra/waf.yaml): a tenth
    # of API Gateway's default account quota (10,000 rps, 5,000 burst), and a burst that
    # admits at most half of Lambda's default 1,000 concurrent executions at once.
    rate = template["Parameters"]["ApiThrottleRateLimit"]["Default"]
    burst = template["Parameters"]["ApiThrottleBurstLimit"]["Default"]
    assert (rate, burst) == (1000, 500)
    assert rate <= 10_000 and burst <= 5_000 and burst <= 1_000 // 2


WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/twostep-prod-waf/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
NOT_A_CLOUDFRONT_WEB_ACL = [
    "",
    WEB_ACL.replace(":global/", ":regional/"),  # an ALB's or API Gateway's
    WEB_ACL.replace("us-east-1", "eu-west-1").replace(":global/", ":regional/"),
    WEB_ACL.replace("us-east-1", "eu-west-1"),
    WEB_ACL.replace("/webacl/", "/ipset/"),
    "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",  # a WAF Classic id
    WEB_ACL + "x",
]


def test_the_distribution_is_behind_the_web_acl(template: dict[str, Any], distribution: dict[str, Any]) -> None:
    assert distribution["WebACLId"] == {"Ref": "WebAclArn"}
    param = template["Parameters"]["WebAclArn"]
    assert param["Type"] == "String" and "Default" not in param  # required: no edge without it
    pattern = re.compile(param["AllowedPattern"])  # CloudFormation matches the whole value
    assert pattern.fullmatch(WEB_ACL)
    assert [arn for arn in NOT_A_CLOUDFRONT_WEB_ACL if pattern.fullmatch(arn)] == []


def test_lambda_reads_this_stacks_tables_and_keys(resources: dict[str, Any]) -> None:
    props = resources["APIHandler"]["Properties"]
    variables = props["Environment"]["Variables"]
    outputs = load_template(stack.TEMPLATE_PATH)["Outputs"]
    for output, env in stack.OUTPUT_ENV.items():
        assert variables[env] == outputs[output]["Value"], env  # {"Ref": <table or key>}
    assert set(TABLE_ENV.values()) <= set(variables)
    assert variables["TWOSTEP_STAGE"] == "prod"
    assert props["Runtime"] in ("python3.11", "python3.12")
    assert props["Timeout"] < 29  # API Gateway's integration timeout
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": "APIHandlerLogGroup"}


def test_cloudfront_proves_itself_to_the_app_with_the_origin_secret(
        template: dict[str, Any], resources: dict[str, Any], distribution: dict[str, Any]) -> None:
    secret = template["Parameters"]["OriginSecret"]
    assert secret["NoEcho"] is True and secret["MinLength"] >= 32
    headers = origins(distribution)["api"]["OriginCustomHeaders"]
    assert headers == [{"HeaderName": "X-Origin-Verify", "HeaderValue": {"Ref": "OriginSecret"}}]
    env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["TWOSTEP_ORIGIN_SECRET"] == {"Ref": "OriginSecret"}


def test_the_relying_party_is_the_domain_name_and_nothing_without_one(
        template: dict[str, Any], resources: dict[str, Any]) -> None:
    env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["TWOSTEP_RP_ID"] == {"Ref": "DomainName"}
    assert env["TWOSTEP_WEBAUTHN_ORIGIN"] == {"Fn::If": ["HasDomain", {"Fn::Sub": "https://${DomainName}"}, ""]}
    assert template["Parameters"]["DomainName"]["Default"] == ""
