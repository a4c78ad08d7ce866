# The Morket processes on Fargate: api (behind the ALB), worker (Temporal task queue), scraper
# (2 vCPU / 4 GB per task, as the seed says), and the one-off migrations task (`morket db upgrade`).
#
# Every setting of morket.core.config.Settings is listed in morket_environment or morket_secrets,
# and every setting of the scraper's in morket_scraper_environment / morket_scraper_secrets:
# backend/tests/deploy/test_settings_coverage.py reads these maps and fails on a missing one.

locals {
  cluster_name = var.name
  enc          = var.secret_arns["encryption"]

  morket_environment = {
    PORT       = "8000"
    MORKET_ENV = "production"
    # Processes of `morket api`: one per vCPU of the API task (the worker and migrations ignore it).
    API_WORKERS = tostring(max(1, floor(var.sizes["api"].cpu / 1024)))
    # Where api.Dockerfile copies the built web app.
    WEB_DIST_DIR                  = "/app/web/dist"
    JWT_ACCESS_EXPIRY             = "15m"
    JWT_REFRESH_EXPIRY            = "7d"
    JWT_ISSUER                    = "morket"
    JWT_AUDIENCE                  = "morket-api"
    INVITATION_TTL                = "7d"
    REFRESH_REUSE_GRACE_SECONDS   = "20"
    CORS_ORIGIN                   = var.public_url
    BCRYPT_ROUNDS                 = "12"
    TRUSTED_PROXIES               = join(",", concat([var.vpc_cidr], var.trusted_proxy_cidrs))
    RATE_LIMIT_AUTH_PER_MINUTE    = "5"
    RATE_LIMIT_REFRESH_PER_MINUTE = "60"
    RATE_LIMIT_GENERAL_PER_MINUTE = "600"
    API_KEY_RATE_LIMIT_PER_MINUTE = "600"
    INBOUND_RATE_LIMIT_PER_MINUTE = "6000"
    INBOUND_MAX_BODY_BYTES        = "1048576"
    INBOUND_MAX_ROWS              = "1000"
    IDENTITY_CACHE_SECONDS        = "5"
    DATABASE_POOL_SIZE            = "20"
    ACCESS_LOG                    = "false"
    LOG_LEVEL                     = var.log_level
    TEMPORAL_ADDRESS              = var.temporal_address
    TEMPORAL_NAMESPACE            = "default"
    TEMPORAL_TASK_QUEUE           = "morket-enrichment"
    ENRICHMENT_CHUNK_SIZE         = tostring(var.enrichment.chunk_size)
    ENRICHMENT_PARALLEL_CHUNKS    = tostring(var.enrichment.parallel_chunks)
    ENRICHMENT_CHUNKS_PER_RUN     = tostring(var.enrichment.chunks_per_run)
    ENRICHMENT_RECORD_CONCURRENCY = tostring(var.enrichment.record_concurrency)
    ENRICHMENT_WRITE_BATCH        = tostring(var.enrichment.write_batch)
    ENRICHMENT_MAX_RECORDS        = "100000"
    # Request bodies: 1 MiB in general, 64 MiB for enrichment jobs and bulk row writes.
    MAX_BODY_BYTES      = "1048576"
    MAX_JOB_BODY_BYTES  = "67108864"
    MAX_BULK_BODY_BYTES = "67108864"
    # Table imports (docs/tables-io.md): 1 GiB uploads, 10,000 rows a transaction.
    IMPORT_MAX_UPLOAD_BYTES  = "1073741824"
    IMPORT_BATCH_ROWS        = "10000"
    IMPORT_MAX_REJECTED_ROWS = "100000"
    IMPORT_UPLOAD_TTL_HOURS  = "24"
    WEBHOOK_TIMEOUT_SECONDS  = "10"
    WEBHOOK_RETRY_DELAYS     = "5,10,20"
    # Loopback webhook destinations are refused in production: must stay empty.
    WEBHOOK_ALLOW_LOOPBACK           = ""
    APOLLO_BASE_URL                  = ""
    CLEARBIT_BASE_URL                = ""
    HUNTER_BASE_URL                  = ""
    OPENAI_BASE_URL                  = ""
    PROVIDER_SANDBOX_URL             = ""
    PROVIDER_SANDBOX_KEY             = ""
    PROVIDER_TIMEOUT_SECONDS         = "30"
    PROVIDER_CACHE_TTL               = "30d"
    PROVIDER_MAX_RATE_WAIT_SECONDS   = "30"
    PROVIDER_PENDING_RETRIES         = "3"
    PROVIDER_PENDING_BACKOFF_SECONDS = "0.5"
    PROVIDER_RATE_LIMITS             = var.provider_rate_limits
    OPENSEARCH_URL                   = var.opensearch_endpoint
    OPENSEARCH_INDEX                 = "morket-search"
    SEARCH_CONSUMER                  = "true"
    SEARCH_BATCH_SIZE                = "200"
    SEARCH_SETTLE_SECONDS            = "0.1"
    # CRM export (docs/crm.md): enabled per CRM by its OAuth app (crm_client_ids, and the
    # secret in morket_secrets).
    CRM_REDIRECT_URI           = "https://${var.name}/crm/callback"
    HUBSPOT_CLIENT_ID          = lookup(var.crm_client_ids, "hubspot", "")
    HUBSPOT_AUTH_URL           = "https://app.hubspot.com"
    HUBSPOT_API_URL            = "https://api.hubapi.com"
    SALESFORCE_CLIENT_ID       = lookup(var.crm_client_ids, "salesforce", "")
    SALESFORCE_LOGIN_URL       = "https://login.salesforce.com"
    CRM_REQUESTS_PER_SECOND    = "8"
    CRM_MAX_RETRY_WAIT_SECONDS = "60"
    SCRAPER_URL                = "http://scraper.${var.name}.internal:8001"
    # Analytics (docs/analytics.md): API tasks drain the outbox into ClickHouse, one at a time.
    ANALYTICS_CONSUMER   = "true"
    ANALYTICS_BATCH_SIZE = "20000"
  }

  # The master key, its version and the previous keys live in one JSON secret, so a rotation
  # changes all three at once (docs/credentials.md, docs/deploy.md).
  morket_secrets = {
    DATABASE_URL             = var.secret_arns["database_url"]
    REDIS_URL                = var.secret_arns["redis_url"]
    CLICKHOUSE_URL           = var.secret_arns["clickhouse_url"]
    JWT_SECRET               = var.secret_arns["jwt_secret"]
    SERVICE_API_KEY          = var.secret_arns["service_api_key"]
    ENCRYPTION_MASTER_KEY    = "${local.enc}:master_key::"
    ENCRYPTION_KEY_VERSION   = "${local.enc}:key_version::"
    ENCRYPTION_PREVIOUS_KEYS = "${local.enc}:previous_keys::"
    # Optional: a CRM app's secret exists only when the app is configured; null leaves the
    # variable unset (modules/ecs_service), and the setting's default (None) applies.
    HUBSPOT_CLIENT_SECRET    = lookup(var.secret_arns, "hubspot_client_secret", null)
    SALESFORCE_CLIENT_SECRET = lookup(var.secret_arns, "salesforce_client_secret", null)
  }

  # scraper/src/morket_scraper/config.py: every name is SCRAPER_ prefixed.
  morket_scraper_environment = {
    SCRAPER_PORT                          = "8001"
    SCRAPER_API_URL                       = "http://api.${var.name}.internal:8000"
    SCRAPER_CREDENTIAL_CACHE_SECONDS      = "300"
    SCRAPER_CHROMIUM_PATH                 = "/usr/bin/chromium"
    SCRAPER_BROWSER_POOL_SIZE             = "5"
    SCRAPER_BROWSER_RECYCLE_PAGES         = "100"
    SCRAPER_BROWSER_RECYCLE_MEMORY_MB     = "512"
    SCRAPER_WORKERS                       = "8"
    SCRAPER_BROWSER_WORKERS               = "5"
    SCRAPER_TASK_TIMEOUT_SECONDS          = "45"
    SCRAPER_SYNC_TIMEOUT_SECONDS          = "60"
    SCRAPER_MAX_PAGE_BYTES                = "5000000"
    SCRAPER_FETCH_TIMEOUT_SECONDS         = "15"
    SCRAPER_BATCH_MAX_TARGETS             = "100"
    SCRAPER_RESPECT_ROBOTS                = "true"
    SCRAPER_DEFAULT_RATE_PER_SECOND       = "2"
    SCRAPER_DEFAULT_BURST                 = "4"
    SCRAPER_POLICY_FILE                   = "/app/scraper-policies.yaml"
    SCRAPER_BREAKER_WINDOW_SECONDS        = "60"
    SCRAPER_BREAKER_MIN_CALLS             = "5"
    SCRAPER_BREAKER_FAILURE_RATIO         = "0.5"
    SCRAPER_BREAKER_COOLDOWN_SECONDS      = "120"
    SCRAPER_HUMAN_DELAYS                  = "false"
    SCRAPER_USER_AGENT_PRODUCT            = "MorketBot/0.1 (+https://github.com/morket)"
    SCRAPER_PROXIES                       = ""
    SCRAPER_PROXY_COOLDOWN_SECONDS        = "60"
    SCRAPER_PROXY_HEALTH_INTERVAL_SECONDS = "30"
    # No private-network targets in production (SSRF guard).
    SCRAPER_ALLOW_HOSTS = ""
    # DNS servers the SSRF check asks; empty: the task's resolver.
    SCRAPER_DNS_SERVERS             = ""
    SCRAPER_WEBHOOK_RETRY_DELAYS    = "5,10,20"
    SCRAPER_WEBHOOK_TIMEOUT_SECONDS = "10"
    SCRAPER_LOG_LEVEL               = var.log_level
  }

  morket_scraper_secrets = {
    SCRAPER_DATABASE_URL    = var.secret_arns["database_url"]
    SCRAPER_SERVICE_API_KEY = var.secret_arns["service_api_key"]
  }

  # values(), not distinct(): a count depends on its length, which must be known at plan time.
  secret_arn_list = values(var.secret_arns)
}

data "aws_vpc" "this" {
  id = var.vpc_id
}

# --- security groups: the ALB reaches the API; the API and worker reach the scraper ---
resource "aws_security_group" "api" {
  #checkov:skip=CKV2_AWS_5:attached to the ECS services through module ecs_service, which checkov does not follow
  name        = "${var.name}-api"
  description = "API tasks"
  vpc_id      = var.vpc_id
}

resource "aws_security_group" "worker" {
  #checkov:skip=CKV2_AWS_5:attached to the ECS services through module ecs_service, which checkov does not follow
  name        = "${var.name}-worker"
  description = "Worker and migration tasks"
  vpc_id      = var.vpc_id
}

resource "aws_security_group" "scraper" {
  #checkov:skip=CKV2_AWS_5:attached to the ECS services through module ecs_service, which checkov does not follow
  name        = "${var.name}-scraper"
  description = "Scraper tasks"
  vpc_id      = var.vpc_id
}

locals {
  groups = {
    api     = aws_security_group.api.id
    worker  = aws_security_group.worker.id
    scraper = aws_security_group.scraper.id
  }
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  security_group_id            = aws_security_group.api.id
  referenced_security_group_id = var.alb_security_group_id
  from_port                    = 8000
  to_port                      = 8000
  ip_protocol                  = "tcp"
  description                  = "HTTP from the load balancer"
}

resource "aws_vpc_security_group_ingress_rule" "api_from_scraper" {
  security_group_id            = aws_security_group.api.id
  referenced_security_group_id = aws_security_group.scraper.id
  from_port                    = 8000
  to_port                      = 8000
  ip_protocol                  = "tcp"
  description                  = "internal credential endpoint for the scraper"
}

resource "aws_vpc_security_group_ingress_rule" "scraper" {
  for_each                     = { api = aws_security_group.api.id, worker = aws_security_group.worker.id }
  security_group_id            = aws_security_group.scraper.id
  referenced_security_group_id = each.value
  from_port                    = 8001
  to_port                      = 8001
  ip_protocol                  = "tcp"
  description                  = "scrape requests from the ${each.key}"
}

# Out: anything inside the VPC (databases, Temporal, the scraper), and HTTP(S) to the internet
# (data providers, webhooks, scraped sites, AWS APIs).
resource "aws_vpc_security_group_egress_rule" "vpc" {
  for_each          = local.groups
  security_group_id = each.value
  cidr_ipv4         = var.vpc_cidr
  from_port         = 0
  to_port           = 65535
  ip_protocol       = "tcp"
  description       = "services inside the VPC"
}

resource "aws_vpc_security_group_egress_rule" "https" {
  for_each          = local.groups
  security_group_id = each.value
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 443
  to_port           = 443
  ip_protocol       = "tcp"
  description       = "HTTPS to providers, webhooks, AWS APIs"
}

resource "aws_vpc_security_group_egress_rule" "http" {
  for_each          = { worker = aws_security_group.worker.id, scraper = aws_security_group.scraper.id }
  security_group_id = each.value
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 80
  to_port           = 80
  ip_protocol       = "tcp"
  description       = "plain HTTP sites (scraper) and webhook endpoints (worker)"
}

# --- what the code may call besides the network ---
data "aws_iam_policy_document" "search" {
  statement {
    actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"]
    resources = ["${var.opensearch_domain_arn}/*"]
  }
}

# One identity for the morket package's code, whichever command runs it (api, worker, migrations).
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "morket" {
  name               = "${var.name}-morket"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "morket" {
  name   = "search"
  role   = aws_iam_role.morket.id
  policy = data.aws_iam_policy_document.search.json
}

module "api" {
  source                         = "../ecs_service"
  name                           = "${var.name}-api"
  discovery_name                 = "api"
  python_package                 = "morket"
  cluster_arn                    = var.cluster_arn
  cluster_name                   = local.cluster_name
  image                          = var.api_image
  command                        = ["api", "--host", "0.0.0.0", "--port", "8000"]
  cpu                            = var.sizes["api"].cpu
  memory                         = var.sizes["api"].memory
  desired_count                  = var.sizes["api"].min
  min_count                      = var.sizes["api"].min
  max_count                      = var.sizes["api"].max
  container_port                 = 8000
  health_check_command           = ["CMD", "python", "/app/healthcheck.py", "api"]
  load_balanced                  = true
  target_group_arn               = var.alb_target_group_arn
  alb_resource_label             = var.alb_resource_label
  requests_per_target            = var.api_requests_per_task_per_minute
  service_discovery_namespace_id = var.namespace_id
  subnet_ids                     = var.subnet_ids
  security_group_ids             = [aws_security_group.api.id]
  environment                    = local.morket_environment
  secrets                        = local.morket_secrets
  secret_arns                    = local.secret_arn_list
  create_task_role               = false
  task_role_arn                  = aws_iam_role.morket.arn
  log_retention_days             = var.log_retention_days
  kms_key_arn                    = var.kms_key_arn
}

module "worker" {
  source               = "../ecs_service"
  name                 = "${var.name}-worker"
  python_package       = "morket"
  cluster_arn          = var.cluster_arn
  cluster_name         = local.cluster_name
  image                = var.api_image
  command              = ["worker"]
  cpu                  = var.sizes["worker"].cpu
  memory               = var.sizes["worker"].memory
  desired_count        = var.sizes["worker"].min
  min_count            = var.sizes["worker"].min
  max_count            = var.sizes["worker"].max
  health_check_command = ["CMD", "python", "/app/healthcheck.py", "temporal"]
  # Activities heartbeat; an interrupted Spot task's chunk is retried by Temporal on another one.
  use_spot           = true
  stop_timeout       = 120
  subnet_ids         = var.subnet_ids
  security_group_ids = [aws_security_group.worker.id]
  environment        = local.morket_environment
  secrets            = local.morket_secrets
  secret_arns        = local.secret_arn_list
  create_task_role   = false
  task_role_arn      = aws_iam_role.morket.arn
  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
}

module "migrate" {
  source             = "../ecs_service"
  name               = "${var.name}-migrate"
  python_package     = "morket"
  create_service     = false
  cluster_arn        = var.cluster_arn
  cluster_name       = local.cluster_name
  image              = var.api_image
  command            = ["db", "upgrade"]
  create_task_role   = false
  task_role_arn      = aws_iam_role.morket.arn
  cpu                = 512
  memory             = 1024
  subnet_ids         = var.subnet_ids
  security_group_ids = [aws_security_group.worker.id]
  environment        = local.morket_environment
  secrets            = local.morket_secrets
  secret_arns        = local.secret_arn_list
  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
}

module "scraper" {
  source                         = "../ecs_service"
  name                           = "${var.name}-scraper"
  discovery_name                 = "scraper"
  python_package                 = "morket_scraper"
  cluster_arn                    = var.cluster_arn
  cluster_name                   = local.cluster_name
  image                          = var.scraper_image
  cpu                            = var.sizes["scraper"].cpu
  memory                         = var.sizes["scraper"].memory
  desired_count                  = var.sizes["scraper"].min
  min_count                      = var.sizes["scraper"].min
  max_count                      = var.sizes["scraper"].max
  container_port                 = 8001
  health_check_command           = ["CMD", "python", "/app/healthcheck.py", "scraper"]
  use_spot                       = true
  stop_timeout                   = 120
  service_discovery_namespace_id = var.namespace_id
  subnet_ids                     = var.subnet_ids
  security_group_ids             = [aws_security_group.scraper.id]
  environment                    = local.morket_scraper_environment
  secrets                        = local.morket_scraper_secrets
  secret_arns                    = local.secret_arn_list
  log_retention_days             = var.log_retention_days
  kms_key_arn                    = var.kms_key_arn
}
