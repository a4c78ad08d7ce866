# Self-hosted Temporal on ECS (see docs/deploy.md for why not Temporal Cloud): the server (all four
# roles in one service, scaled by task count; split per role when one becomes the bottleneck) and
# the UI, registered in Cloud Map as temporal.<namespace> and temporal-ui.<namespace>. Persistence
# and visibility live in PostgreSQL (an Aurora cluster given by the environment). The schema is
# created and upgraded by the one-off task `<name>-temporal-schema` (temporal-sql-tool).
variable "name" {
  description = "Prefix, e.g. morket-production."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster name."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups of the Temporal clients (API and worker) allowed on 7233."
  type        = list(string)
}

variable "namespace_id" {
  description = "Cloud Map namespace id."
  type        = string
}

variable "server_image" {
  description = "Temporal server image (version pinned)."
  type        = string
  default     = "temporalio/server:1.25.2"
}

variable "admin_tools_image" {
  description = "Temporal admin-tools image of the same version (schema tool)."
  type        = string
  default     = "temporalio/admin-tools:1.25.2-tctl-1.18.1-cli-1.1.1"
}

variable "ui_image" {
  description = "Temporal UI image."
  type        = string
  default     = "temporalio/ui:2.32.0"
}

variable "server_count" {
  description = "Server tasks (history shards are spread over them)."
  type        = number
  default     = 1
}

variable "server_cpu" {
  description = "CPU units per server task."
  type        = number
  default     = 1024
}

variable "server_memory" {
  description = "MiB per server task."
  type        = number
  default     = 2048
}

variable "history_shards" {
  description = "numHistoryShards: fixed when the cluster is created and never changed after (512 allows ~20 history hosts)."
  type        = number
  default     = 512
}

variable "db_host" {
  description = "PostgreSQL writer endpoint of Temporal's databases."
  type        = string
}

variable "db_user" {
  description = "PostgreSQL user."
  type        = string
}

variable "db_password_secret_arn" {
  description = "Secret holding that user's password."
  type        = string
}

variable "db_security_group_id" {
  description = "Security group of the database (to allow the Temporal tasks)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of logs and secrets."
  type        = string
}

resource "aws_security_group" "server" {
  #checkov:skip=CKV2_AWS_5:attached to the ECS services through module ecs_service, which checkov does not follow
  name        = "${var.name}-temporal"
  description = "Temporal frontend from the Morket services; membership ports between server tasks"
  vpc_id      = var.vpc_id
  ingress {
    description     = "frontend gRPC from the clients"
    from_port       = 7233
    to_port         = 7233
    protocol        = "tcp"
    security_groups = concat(var.client_security_group_ids, [aws_security_group.ui.id])
  }
  ingress {
    description = "frontend, history, matching, worker gRPC and membership between server tasks"
    from_port   = 6933
    to_port     = 7239
    protocol    = "tcp"
    self        = true
  }
  egress {
    description = "to PostgreSQL and between server tasks; HTTPS for ECR and logs"
    from_port   = 0
    to_port     = 65535
    protocol    = "tcp"
    cidr_blocks = [data.aws_vpc.this.cidr_block]
  }
  egress {
    description = "HTTPS to AWS APIs (ECR, CloudWatch Logs, Secrets Manager) through the NAT"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "ui" {
  #checkov:skip=CKV2_AWS_5:attached to the ECS services through module ecs_service, which checkov does not follow
  name        = "${var.name}-temporal-ui"
  description = "Temporal UI: no ingress by default; add a rule from your VPN or bastion"
  vpc_id      = var.vpc_id
  egress {
    description = "to the frontend; HTTPS for ECR and logs"
    from_port   = 0
    to_port     = 65535
    protocol    = "tcp"
    cidr_blocks = [data.aws_vpc.this.cidr_block]
  }
  egress {
    description = "HTTPS to AWS APIs through the NAT"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

data "aws_vpc" "this" {
  id = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "db" {
  security_group_id            = var.db_security_group_id
  referenced_security_group_id = aws_security_group.server.id
  from_port                    = 5432
  to_port                      = 5432
  ip_protocol                  = "tcp"
  description                  = "PostgreSQL from Temporal"
}

locals {
  db_environment = {
    DB                    = "postgres12"
    DB_PORT               = "5432"
    POSTGRES_SEEDS        = var.db_host
    POSTGRES_USER         = var.db_user
    DBNAME                = "temporal"
    VISIBILITY_DBNAME     = "temporal_visibility"
    SQL_TLS_ENABLED       = "true"
    SQL_HOST_VERIFICATION = "false"
  }
}

module "server" {
  source                         = "../ecs_service"
  name                           = "${var.name}-temporal"
  discovery_name                 = "temporal"
  cluster_arn                    = var.cluster_arn
  cluster_name                   = var.cluster_name
  image                          = var.server_image
  cpu                            = var.server_cpu
  memory                         = var.server_memory
  container_port                 = 7233
  desired_count                  = var.server_count
  min_count                      = var.server_count
  max_count                      = var.server_count
  readonly_root_filesystem       = false
  user                           = null
  subnet_ids                     = var.subnet_ids
  security_group_ids             = [aws_security_group.server.id]
  service_discovery_namespace_id = var.namespace_id
  environment = merge(local.db_environment, {
    NUM_HISTORY_SHARDS = tostring(var.history_shards)
    SKIP_SCHEMA_SETUP  = "true"
  })
  secrets     = { POSTGRES_PWD = var.db_password_secret_arn }
  secret_arns = [var.db_password_secret_arn]
  kms_key_arn = var.kms_key_arn
}

module "schema" {
  source                   = "../ecs_service"
  name                     = "${var.name}-temporal-schema"
  create_service           = false
  cluster_arn              = var.cluster_arn
  cluster_name             = var.cluster_name
  image                    = var.admin_tools_image
  cpu                      = 256
  memory                   = 512
  readonly_root_filesystem = false
  user                     = null
  subnet_ids               = var.subnet_ids
  security_group_ids       = [aws_security_group.server.id]
  command = ["sh", "-ec", join(" && ", [
    "export SQL_PLUGIN=postgres12 SQL_HOST=$POSTGRES_SEEDS SQL_PORT=5432 SQL_USER=$POSTGRES_USER SQL_PASSWORD=$POSTGRES_PWD SQL_TLS=true SQL_TLS_DISABLE_HOST_VERIFICATION=true",
    "for db in temporal temporal_visibility; do temporal-sql-tool --db $db create-database || true; done",
    "temporal-sql-tool --db temporal setup-schema -v 0.0",
    "temporal-sql-tool --db temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned",
    "temporal-sql-tool --db temporal_visibility setup-schema -v 0.0",
    "temporal-sql-tool --db temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned",
  ])]
  environment = local.db_environment
  secrets     = { POSTGRES_PWD = var.db_password_secret_arn }
  secret_arns = [var.db_password_secret_arn]
  kms_key_arn = var.kms_key_arn
}

module "ui" {
  source                         = "../ecs_service"
  name                           = "${var.name}-temporal-ui"
  discovery_name                 = "temporal-ui"
  cluster_arn                    = var.cluster_arn
  cluster_name                   = var.cluster_name
  image                          = var.ui_image
  cpu                            = 256
  memory                         = 512
  container_port                 = 8080
  readonly_root_filesystem       = false
  user                           = null
  subnet_ids                     = var.subnet_ids
  security_group_ids             = [aws_security_group.ui.id]
  service_discovery_namespace_id = var.namespace_id
  environment                    = { TEMPORAL_ADDRESS = "temporal.${var.name}.internal:7233" }
  kms_key_arn                    = var.kms_key_arn
}

output "address" {
  description = "TEMPORAL_ADDRESS for the API and the worker."
  value       = "temporal.${var.name}.internal:7233"
}

output "security_group_id" {
  description = "Security group of the server tasks."
  value       = aws_security_group.server.id
}

output "schema_task_family" {
  description = "One-off task that creates or upgrades Temporal's schema."
  value       = module.schema.task_definition_family
}

output "server_service_name" {
  description = "ECS service of the Temporal server."
  value       = module.server.service_name
}
