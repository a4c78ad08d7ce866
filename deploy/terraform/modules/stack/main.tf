# One Morket environment: network, data stores, Temporal, the Morket services, edge, delivery and
# monitoring. deploy/terraform/environments calls it with the sizes of the workspace's environment.
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

data "aws_ec2_managed_prefix_list" "cloudfront" {
  name = "com.amazonaws.global.cloudfront.origin-facing"
}

locals {
  name    = "morket-${var.environment}"
  buckets = "morket-${var.environment}-${data.aws_caller_identity.current.account_id}"
}

# --- one customer-managed key for logs, secrets, volumes, images and the alarm topic ---
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_356:a key policy's "*" resource means this key only
  #checkov:skip=CKV_AWS_109:key policy: the account root keeps administration of its own key, as AWS requires
  #checkov:skip=CKV_AWS_111:key policy: "*" is this key
  statement {
    sid       = "Account"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "Services"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com", "cloudwatch.amazonaws.com", "sns.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description         = "${local.name}: logs, secrets, volumes, images, alarms"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.this.key_id
}

# --- generated credentials (first values; rotation replaces them in Secrets Manager) ---
resource "random_password" "db" {
  length  = 40
  special = false
}

resource "random_password" "temporal_db" {
  length  = 40
  special = false
}

resource "random_password" "redis" {
  length  = 48
  special = false
}

resource "random_password" "clickhouse" {
  length  = 40
  special = false
}

resource "random_password" "jwt" {
  length  = 64
  special = false
}

resource "random_password" "service_key" {
  length  = 48
  special = false
}

resource "random_password" "origin" {
  length  = 48
  special = false
}

resource "random_id" "master_key" {
  byte_length = 32
}

module "vpc" {
  source             = "../vpc"
  name               = local.name
  azs                = slice([for z in ["a", "b", "c", "d"] : "${data.aws_region.current.name}${z}"], 0, var.az_count)
  single_nat_gateway = var.single_nat_gateway
  kms_key_arn        = aws_kms_key.this.arn
}

module "s3" {
  source        = "../s3"
  name          = local.buckets
  kms_key_arn   = aws_kms_key.this.arn
  force_destroy = !var.deletion_protection
}

module "ecr" {
  source      = "../ecr"
  name        = local.name
  kms_key_arn = aws_kms_key.this.arn
}

module "cluster" {
  source      = "../ecs_cluster"
  name        = local.name
  vpc_id      = module.vpc.vpc_id
  kms_key_arn = aws_kms_key.this.arn
}

module "aurora" {
  source                    = "../aurora"
  name                      = local.name
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.data_subnet_ids
  client_security_group_ids = module.app.client_security_group_ids
  instance_class            = var.aurora.instance_class
  reader_count              = var.aurora.reader_count
  master_password           = random_password.db.result
  deletion_protection       = var.deletion_protection
  kms_key_arn               = aws_kms_key.this.arn
  monitoring_role_arn       = aws_iam_role.rds_monitoring.arn
}

# Temporal's persistence is write-heavy (every workflow event); production gives it its own cluster.
module "aurora_temporal" {
  count                     = var.aurora.temporal_cluster ? 1 : 0
  source                    = "../aurora"
  name                      = "${local.name}-temporal"
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.data_subnet_ids
  client_security_group_ids = []
  database_name             = "temporal"
  master_username           = "temporal"
  instance_class            = var.aurora.instance_class
  reader_count              = 1
  master_password           = random_password.temporal_db.result
  deletion_protection       = var.deletion_protection
  kms_key_arn               = aws_kms_key.this.arn
  monitoring_role_arn       = aws_iam_role.rds_monitoring.arn
}

resource "aws_iam_role" "rds_monitoring" {
  name = "${local.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

module "redis" {
  source                    = "../redis"
  name                      = local.name
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.data_subnet_ids
  client_security_group_ids = module.app.client_security_group_ids
  node_type                 = var.redis.node_type
  replicas                  = var.redis.replicas
  auth_token                = random_password.redis.result
  kms_key_arn               = aws_kms_key.this.arn
}

module "opensearch" {
  source                    = "../opensearch"
  name                      = local.name
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.data_subnet_ids
  client_security_group_ids = module.app.client_security_group_ids
  instance_type             = var.opensearch.instance_type
  instance_count            = var.opensearch.instance_count
  zone_count                = var.opensearch.zone_count
  dedicated_master_count    = var.opensearch.master_count
  volume_size_gb            = var.opensearch.volume_gb
  master_user_arn           = module.app.morket_task_role_arn
  kms_key_arn               = aws_kms_key.this.arn
}

module "clickhouse" {
  source                    = "../clickhouse"
  name                      = local.name
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.private_subnet_ids
  client_security_group_ids = module.app.client_security_group_ids
  node_count                = var.clickhouse.node_count
  instance_type             = var.clickhouse.instance_type
  data_volume_gb            = var.clickhouse.data_volume_gb
  password_secret_arn       = module.secrets.arns["clickhouse_password"]
  backup_bucket_arn         = module.s3.bucket_arns["backups"]
  kms_key_arn               = aws_kms_key.this.arn
}

locals {
  temporal_db = var.aurora.temporal_cluster ? module.aurora_temporal[0] : module.aurora
  # A secret only for each CRM app that is configured: the tasks read a CRM's secret if it exists.
  crm_secrets = { for crm, secret in var.crm_client_secrets : "${crm}_client_secret" => secret }
}

module "secrets" {
  source      = "../secrets"
  name        = "morket/${var.environment}"
  kms_key_arn = aws_kms_key.this.arn
  initial_values = merge({
    database_url         = "postgresql://${module.aurora.master_username}:${random_password.db.result}@${module.aurora.endpoint}:5432/${module.aurora.database_name}"
    temporal_db_password = var.aurora.temporal_cluster ? random_password.temporal_db.result : random_password.db.result
    redis_url            = "rediss://:${random_password.redis.result}@${module.redis.primary_endpoint}:6379/0"
    clickhouse_password  = random_password.clickhouse.result
    clickhouse_url       = "http://morket:${random_password.clickhouse.result}@${module.clickhouse.endpoint}/morket"
    jwt_secret           = random_password.jwt.result
    service_api_key      = random_password.service_key.result
    origin_verify        = random_password.origin.result
    encryption = jsonencode({
      master_key    = random_id.master_key.hex
      key_version   = "1"
      previous_keys = ""
    })
  }, local.crm_secrets)
}

module "temporal" {
  source                    = "../temporal"
  name                      = local.name
  cluster_arn               = module.cluster.cluster_arn
  cluster_name              = module.cluster.cluster_name
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.private_subnet_ids
  client_security_group_ids = module.app.temporal_client_security_group_ids
  namespace_id              = module.cluster.namespace_id
  server_count              = var.temporal.server_count
  server_cpu                = var.temporal.cpu
  server_memory             = var.temporal.memory
  db_host                   = local.temporal_db.endpoint
  db_user                   = local.temporal_db.master_username
  db_password_secret_arn    = module.secrets.arns["temporal_db_password"]
  db_security_group_id      = local.temporal_db.security_group_id
  kms_key_arn               = aws_kms_key.this.arn
}

module "waf_regional" {
  source      = "../waf"
  name        = "${local.name}-alb"
  scope       = "REGIONAL"
  kms_key_arn = aws_kms_key.this.arn
}

module "waf_edge" {
  source      = "../waf"
  providers   = { aws = aws.us_east_1 }
  name        = "${local.name}-edge"
  scope       = "CLOUDFRONT"
  kms_key_arn = aws_kms_key.edge.arn
}

# Log groups of CLOUDFRONT-scope WAF live in us-east-1, so they need a key there.
resource "aws_kms_key" "edge" {
  provider            = aws.us_east_1
  description         = "${local.name}: edge WAF logs"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "Account"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "Logs"
        Effect    = "Allow"
        Principal = { Service = "logs.us-east-1.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
      },
    ]
  })
}

module "alb" {
  source              = "../alb"
  name                = local.name
  vpc_id              = module.vpc.vpc_id
  public_subnet_ids   = module.vpc.public_subnet_ids
  certificate_arn     = var.alb_certificate_arn
  access_logs_bucket  = module.s3.bucket_names["logs"]
  deletion_protection = var.deletion_protection
  waf_acl_arn         = module.waf_regional.arn
  origin_secret       = random_password.origin.result
}

module "cdn" {
  source                  = "../cloudfront"
  name                    = local.name
  aliases                 = [var.domain]
  certificate_arn         = var.cloudfront_certificate_arn
  web_bucket_name         = module.s3.bucket_names["web"]
  web_bucket_arn          = module.s3.bucket_arns["web"]
  web_bucket_domain_name  = module.s3.web_bucket_regional_domain_name
  api_origin_domain       = var.api_origin_domain
  origin_secret           = random_password.origin.result
  logs_bucket_domain_name = "${module.s3.bucket_names["logs"]}.s3.amazonaws.com"
  web_acl_arn             = module.waf_edge.arn
}

module "app" {
  source                = "../app"
  name                  = local.name
  cluster_arn           = module.cluster.cluster_arn
  namespace_id          = module.cluster.namespace_id
  vpc_id                = module.vpc.vpc_id
  vpc_cidr              = module.vpc.cidr_block
  subnet_ids            = module.vpc.private_subnet_ids
  alb_security_group_id = module.alb.security_group_id
  alb_target_group_arn  = module.alb.target_group_arn
  alb_resource_label    = module.alb.resource_label
  api_image             = "${module.ecr.repository_urls["api"]}:${var.image_tag}"
  scraper_image         = "${module.ecr.repository_urls["scraper"]}:${var.image_tag}"
  sizes                 = var.sizes
  public_url            = "https://${var.domain}"
  temporal_address      = module.temporal.address
  opensearch_endpoint   = module.opensearch.endpoint
  opensearch_domain_arn = module.opensearch.arn
  trusted_proxy_cidrs   = [for e in data.aws_ec2_managed_prefix_list.cloudfront.entries : e.cidr]
  provider_rate_limits  = var.provider_rate_limits
  crm_client_ids        = var.crm_client_ids
  secret_arns           = module.secrets.arns
  kms_key_arn           = aws_kms_key.this.arn
}

module "deploy_role" {
  source              = "../github_oidc"
  name                = "${local.name}-deploy"
  github_owner        = var.github_owner
  github_repo         = var.github_repo
  environment         = var.environment
  create_provider     = var.create_github_oidc_provider
  ecr_repository_arns = values(module.ecr.repository_arns)
  ecs_cluster_arn     = module.cluster.cluster_arn
  pass_role_arns      = module.app.pass_role_arns
  web_bucket_arn      = module.s3.bucket_arns["web"]
  distribution_arn    = module.cdn.distribution_arn
}

module "monitoring" {
  source                  = "../monitoring"
  name                    = local.name
  alarm_emails            = var.alarm_emails
  kms_key_arn             = aws_kms_key.this.arn
  alb_arn_suffix          = module.alb.arn_suffix
  target_group_arn_suffix = module.alb.target_group_arn_suffix
  cluster_name            = module.cluster.cluster_name
  services = {
    (module.app.service_names["api"])     = var.sizes["api"].min
    (module.app.service_names["worker"])  = var.sizes["worker"].min
    (module.app.service_names["scraper"]) = var.sizes["scraper"].min
    (module.temporal.server_service_name) = var.temporal.server_count
  }
  aurora_cluster_ids         = concat([module.aurora.cluster_id], module.aurora_temporal[*].cluster_id)
  redis_replication_group_id = module.redis.replication_group_id
  opensearch_domain_name     = module.opensearch.domain_name
  clickhouse_instance_ids    = module.clickhouse.instance_ids
}
