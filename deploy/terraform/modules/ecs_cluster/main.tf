variable "name" {
  description = "Cluster name, e.g. morket-production."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the private DNS namespace."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for ECS Exec sessions and their logs."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the ECS Exec audit log group."
  type        = number
  default     = 365
}

resource "aws_cloudwatch_log_group" "exec" {
  name              = "/ecs/${var.name}/exec"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  configuration {
    execute_command_configuration {
      kms_key_id = var.kms_key_arn
      logging    = "OVERRIDE"
      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.exec.name
      }
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

# Service discovery: the worker finds Temporal and the API finds the scraper as <name>.<namespace>.
resource "aws_service_discovery_private_dns_namespace" "this" {
  name = "${var.name}.internal"
  vpc  = var.vpc_id
}

output "cluster_name" {
  description = "The ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "The ECS cluster's ARN."
  value       = aws_ecs_cluster.this.arn
}

output "namespace_id" {
  description = "Cloud Map namespace of the services."
  value       = aws_service_discovery_private_dns_namespace.this.id
}

output "namespace_name" {
  description = "DNS name of the Cloud Map namespace."
  value       = aws_service_discovery_private_dns_namespace.this.name
}
