#!/usr/bin/env bash
# Deploy twostep to AWS: `make deploy STAGE=prod` (or infra/deploy.sh prod). See docs/deploying.md.
#
# 1. package: infra/package.py -> build/<stage>/sam.yaml + deployment.zip + layer-deployment.zip
# 2. upload the zip and the layer (aws cloudformation package) to an artefact bucket
# 3. the edge's web ACL (infra/waf.yaml: per-client-IP rate limits) as its own stack in
#    us-east-1, where a CloudFront-scope web ACL must live whatever the stack's region;
#    its WebAclArn output becomes the main stack's WebAclArn parameter
# 4. aws cloudformation deploy: tables, keys, Lambda, API Gateway, S3, CloudFront
# 5. the front end to the stack's bucket, then a CloudFront invalidation
# 6. the account's SMS settings, which CloudFormation cannot express
#
# Settings (environment):
#   AWS_REGION                         region of the stack (SNS SMS settings are per region)
#   TWOSTEP_SMS_MONTHLY_SPEND_LIMIT    SNS monthly SMS spend limit in USD (required)
#   TWOSTEP_STACK_NAME                 default twostep-<stage>
#   TWOSTEP_ARTIFACT_BUCKET            default twostep-artifacts-<account>-<region> (made if missing)
#   TWOSTEP_API_RATE_LIMIT / TWOSTEP_API_BURST_LIMIT   API Gateway stage throttling
#   TWOSTEP_WAF_STACK_NAME             default <stack>-waf (always in us-east-1)
#   TWOSTEP_WAF_RATE_LIMIT             requests per client IP per window, every path
#   TWOSTEP_WAF_LOGIN_RATE_LIMIT       requests per client IP per window, credential paths
#   TWOSTEP_WAF_WINDOW_SECONDS         the WAF evaluation window: 60, 120, 300 or 600
#   TWOSTEP_DOMAIN_NAME / TWOSTEP_CERTIFICATE_ARN      optional custom host (ACM cert in us-east-1)
set -euo pipefail

STAGE=${1:-}
case "$STAGE" in
  dev|prod) ;;
  *) echo "usage: infra/deploy.sh <dev|prod>" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
: "${REGION:?set AWS_REGION to the region to deploy to}"
: "${TWOSTEP_SMS_MONTHLY_SPEND_LIMIT:?set TWOSTEP_SMS_MONTHLY_SPEND_LIMIT (USD) for SNS SMS}"
export AWS_REGION=$REGION AWS_DEFAULT_REGION=$REGION
STACK=${TWOSTEP_STACK_NAME:-twostep-$STAGE}
WAF_STACK=${TWOSTEP_WAF_STACK_NAME:-$STACK-waf}
ACCOUNT=$(aws sts get-caller-identity --query Account --output text)
ARTIFACTS=${TWOSTEP_ARTIFACT_BUCKET:-twostep-artifacts-$ACCOUNT-$REGION}
OUT=build/$STAGE

echo "==> deploying stage $STAGE as stack $STACK in $ACCOUNT/$REGION"

echo "==> packaging"
"$PY" infra/package.py "$STAGE"

if ! aws s3api head-bucket --bucket "$ARTIFACTS" 2>/dev/null; then
  echo "==> creating artefact bucket $ARTIFACTS"
  if [ "$REGION" = us-east-1 ]; then
    aws s3api create-bucket --bucket "$ARTIFACTS"
  else
    aws s3api create-bucket --bucket "$ARTIFACTS" --create-bucket-configuration "LocationConstraint=$REGION"
  fi
  aws s3api put-public-access-block --bucket "$ARTIFACTS" --public-access-block-configuration \
    BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
fi

echo "==> uploading the Lambda package"
aws cloudformation package \
  --template-file "$OUT/sam.yaml" \
  --s3-bucket "$ARTIFACTS" --s3-prefix "$STACK" \
  --output-template-file "$OUT/packaged.yaml"

WAF_PARAMS=("Stage=$STAGE")
[ -n "${TWOSTEP_WAF_RATE_LIMIT:-}" ] && WAF_PARAMS+=("RateLimit=$TWOSTEP_WAF_RATE_LIMIT")
[ -n "${TWOSTEP_WAF_LOGIN_RATE_LIMIT:-}" ] && WAF_PARAMS+=("CredentialRateLimit=$TWOSTEP_WAF_LOGIN_RATE_LIMIT")
[ -n "${TWOSTEP_WAF_WINDOW_SECONDS:-}" ] && WAF_PARAMS+=("EvaluationWindowSec=$TWOSTEP_WAF_WINDOW_SECONDS")

# A CloudFront-scope web ACL exists only in us-east-1, whatever the stack's region.
echo "==> deploying the web ACL as stack $WAF_STACK in us-east-1"
aws cloudformation deploy --region us-east-1 \
  --template-file infra/waf.yaml \
  --stack-name "$WAF_STACK" \
  --parameter-overrides "${WAF_PARAMS[@]}" \
  --no-fail-on-empty-changeset
WEB_ACL_ARN=$(aws cloudformation describe-stacks --region us-east-1 --stack-name "$WAF_STACK" \
  --query "Stacks[0].Outputs[?OutputKey=='WebAclArn'].OutputValue" --output text)
case "$WEB_ACL_ARN" in
  arn:aws:wafv2:us-east-1:*:global/webacl/*) echo "==> web ACL $WEB_ACL_ARN" ;;
  *) echo "stack $WAF_STACK has no WebAclArn output (got '$WEB_ACL_ARN')" >&2; exit 1 ;;
esac

PARAMS=("Stage=$STAGE" "WebAclArn=$WEB_ACL_ARN")
# The origin secret is made once, at the first deploy; later deploys keep the stack's value
# (aws cloudformation deploy reuses a parameter it is not given).
if ! aws cloudformation describe-stacks --stack-name "$STACK" >/dev/null 2>&1; then
  PARAMS+=("OriginSecret=${TWOSTEP_ORIGIN_SECRET:-$(openssl rand -hex 32)}")
fi
[ -n "${TWOSTEP_API_RATE_LIMIT:-}" ] && PARAMS+=("ApiThrottleRateLimit=$TWOSTEP_API_RATE_LIMIT")
[ -n "${TWOSTEP_API_BURST_LIMIT:-}" ] && PARAMS+=("ApiThrottleBurstLimit=$TWOSTEP_API_BURST_LIMIT")
[ -n "${TWOSTEP_DOMAIN_NAME:-}" ] && PARAMS+=("DomainName=$TWOSTEP_DOMAIN_NAME")
[ -n "${TWOSTEP_CERTIFICATE_ARN:-}" ] && PARAMS+=("CertificateArn=$TWOSTEP_CERTIFICATE_ARN")

echo "==> deploying the stack (CloudFront can take several minutes)"
aws cloudformation deploy \
  --template-file "$OUT/packaged.yaml" \
  --stack-name "$STACK" \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --parameter-overrides "${PARAMS[@]}" \
  --no-fail-on-empty-changeset

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
BUCKET=$(output FrontendBucketName)
DISTRIBUTION=$(output DistributionId)
SITE=$(output SiteURL)

echo "==> uploading the front end to s3://$BUCKET"
aws s3 sync frontend/ "s3://$BUCKET/" --delete --exclude ".*" --exclude "*/.*"

echo "==> invalidating CloudFront $DISTRIBUTION"
aws cloudfront create-invalidation --distribution-id "$DISTRIBUTION" --paths "/*" \
  --query Invalidation.Id --output text

echo "==> SNS SMS settings in $REGION (account-wide)"
aws sns set-sms-attributes --attributes \
  "DefaultSMSType=Transactional,MonthlySpendLimit=$TWOSTEP_SMS_MONTHLY_SPEND_LIMIT"

echo "==> done: $SITE"
