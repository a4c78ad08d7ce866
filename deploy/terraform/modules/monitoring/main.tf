# Alarms (each named in the runbook of docs/deploy.md), a dashboard and the SNS topic they notify.
variable "name" {
  description = "Prefix of the alarms, topic and dashboard."
  type        = string
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each confirms by e-mail)."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key of the topic (CloudWatch must be allowed to use it)."
  type        = string
}

variable "alb_arn_suffix" {
  description = "Load balancer of the API."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "Target group of the API."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster."
  type        = string
}

variable "services" {
  description = "ECS service name => fewest running tasks before the alarm fires."
  type        = map(number)
}

variable "aurora_cluster_ids" {
  description = "Aurora clusters (the application's and Temporal's when separate)."
  type        = list(string)
}

variable "redis_replication_group_id" {
  description = "ElastiCache replication group."
  type        = string
}

variable "opensearch_domain_name" {
  description = "OpenSearch domain."
  type        = string
}

variable "clickhouse_instance_ids" {
  description = "ClickHouse EC2 instances."
  type        = list(string)
}

data "aws_caller_identity" "current" {}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  # name => [namespace, metric, dimensions, statistic, comparison, threshold, periods, description]
  static = {
    "api-5xx"               = ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix }, "Sum", "GreaterThanThreshold", 10, 3, "API answered more than 10 5xx a minute for 3 minutes"]
    "api-latency"           = ["AWS/ApplicationELB", "TargetResponseTime", { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix }, "p95", "GreaterThanThreshold", 1, 5, "API p95 latency above 1 s for 5 minutes"]
    "api-unhealthy"         = ["AWS/ApplicationELB", "UnHealthyHostCount", { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffix }, "Maximum", "GreaterThanThreshold", 0, 5, "an API task fails its health check"]
    "redis-cpu"             = ["AWS/ElastiCache", "EngineCPUUtilization", { ReplicationGroupId = var.redis_replication_group_id }, "Average", "GreaterThanThreshold", 80, 10, "Redis engine CPU above 80%"]
    "redis-memory"          = ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", { ReplicationGroupId = var.redis_replication_group_id }, "Average", "GreaterThanThreshold", 80, 10, "Redis memory above 80%"]
    "search-red"            = ["AWS/ES", "ClusterStatus.red", { DomainName = var.opensearch_domain_name, ClientId = data.aws_caller_identity.current.account_id }, "Maximum", "GreaterThanOrEqualToThreshold", 1, 1, "OpenSearch has unassigned primary shards"]
    "search-yellow"         = ["AWS/ES", "ClusterStatus.yellow", { DomainName = var.opensearch_domain_name, ClientId = data.aws_caller_identity.current.account_id }, "Maximum", "GreaterThanOrEqualToThreshold", 1, 15, "OpenSearch has unassigned replica shards for 15 minutes"]
    "search-storage"        = ["AWS/ES", "FreeStorageSpace", { DomainName = var.opensearch_domain_name, ClientId = data.aws_caller_identity.current.account_id }, "Minimum", "LessThanThreshold", 20480, 5, "an OpenSearch node has less than 20 GB free"]
    "search-jvm"            = ["AWS/ES", "JVMMemoryPressure", { DomainName = var.opensearch_domain_name, ClientId = data.aws_caller_identity.current.account_id }, "Maximum", "GreaterThanThreshold", 85, 10, "OpenSearch JVM memory pressure above 85%"]
    "search-writes-blocked" = ["AWS/ES", "ClusterIndexWritesBlocked", { DomainName = var.opensearch_domain_name, ClientId = data.aws_caller_identity.current.account_id }, "Maximum", "GreaterThanOrEqualToThreshold", 1, 1, "OpenSearch refuses writes"]
  }
  per_service = merge([for svc, min in var.services : {
    "${svc}-cpu"     = ["AWS/ECS", "CPUUtilization", { ClusterName = var.cluster_name, ServiceName = svc }, "Average", "GreaterThanThreshold", 85, 10, "${svc}: CPU above 85% for 10 minutes (autoscaling at its maximum?)"]
    "${svc}-memory"  = ["AWS/ECS", "MemoryUtilization", { ClusterName = var.cluster_name, ServiceName = svc }, "Average", "GreaterThanThreshold", 85, 10, "${svc}: memory above 85% for 10 minutes"]
    "${svc}-running" = ["ECS/ContainerInsights", "RunningTaskCount", { ClusterName = var.cluster_name, ServiceName = svc }, "Minimum", "LessThanThreshold", min, 3, "${svc}: fewer than ${min} tasks running"]
  }]...)
  per_aurora = merge([for id in var.aurora_cluster_ids : {
    "${id}-db-cpu"         = ["AWS/RDS", "CPUUtilization", { DBClusterIdentifier = id }, "Average", "GreaterThanThreshold", 80, 10, "${id}: database CPU above 80%"]
    "${id}-db-memory"      = ["AWS/RDS", "FreeableMemory", { DBClusterIdentifier = id }, "Minimum", "LessThanThreshold", 536870912, 10, "${id}: less than 512 MB freeable memory"]
    "${id}-db-connections" = ["AWS/RDS", "DatabaseConnections", { DBClusterIdentifier = id }, "Maximum", "GreaterThanThreshold", 800, 5, "${id}: more than 800 connections"]
    "${id}-db-replica-lag" = ["AWS/RDS", "AuroraReplicaLagMaximum", { DBClusterIdentifier = id }, "Maximum", "GreaterThanThreshold", 2000, 5, "${id}: a reader is more than 2 s behind"]
  }]...)
  per_clickhouse = merge([for i, id in var.clickhouse_instance_ids : {
    "clickhouse-${i + 1}-status" = ["AWS/EC2", "StatusCheckFailed", { InstanceId = id }, "Maximum", "GreaterThanOrEqualToThreshold", 1, 2, "ClickHouse node ${i + 1} fails its EC2 status check"]
    "clickhouse-${i + 1}-cpu"    = ["AWS/EC2", "CPUUtilization", { InstanceId = id }, "Average", "GreaterThanThreshold", 85, 15, "ClickHouse node ${i + 1}: CPU above 85% for 15 minutes"]
  }]...)
  alarms = merge(local.static, local.per_service, local.per_aurora, local.per_clickhouse)
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = "${each.value[7]}. Runbook: docs/deploy.md, Alarm runbook"
  namespace           = each.value[0]
  metric_name         = each.value[1]
  dimensions          = each.value[2]
  statistic           = startswith(each.value[3], "p") ? null : each.value[3]
  extended_statistic  = startswith(each.value[3], "p") ? each.value[3] : null
  comparison_operator = each.value[4]
  threshold           = each.value[5]
  evaluation_periods  = each.value[6]
  period              = 60
  treat_missing_data  = each.value[1] == "RunningTaskCount" ? "breaching" : "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      for i, group in [
        ["API requests and errors", [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.alb_arn_suffix], [".", "HTTPCode_Target_5XX_Count", ".", "."], [".", "HTTPCode_Target_4XX_Count", ".", "."]]],
        ["API latency (p50, p95)", [["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", var.alb_arn_suffix, { stat = "p50" }], ["...", { stat = "p95" }]]],
        ["ECS CPU by service", [for svc in keys(var.services) : ["AWS/ECS", "CPUUtilization", "ClusterName", var.cluster_name, "ServiceName", svc]]],
        ["ECS running tasks", [for svc in keys(var.services) : ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.cluster_name, "ServiceName", svc]]],
        ["Aurora CPU and connections", flatten([for id in var.aurora_cluster_ids : [["AWS/RDS", "CPUUtilization", "DBClusterIdentifier", id], [".", "DatabaseConnections", ".", ".", { yAxis = "right" }]]])],
        ["Redis", [["AWS/ElastiCache", "EngineCPUUtilization", "ReplicationGroupId", var.redis_replication_group_id], [".", "DatabaseMemoryUsagePercentage", ".", "."]]],
        ["OpenSearch", [["AWS/ES", "SearchLatency", "DomainName", var.opensearch_domain_name, "ClientId", data.aws_caller_identity.current.account_id], [".", "IndexingLatency", ".", ".", ".", "."], [".", "JVMMemoryPressure", ".", ".", ".", ".", { yAxis = "right" }]]],
        ["ClickHouse nodes CPU", [for id in var.clickhouse_instance_ids : ["AWS/EC2", "CPUUtilization", "InstanceId", id]]],
        ] : {
        type   = "metric"
        x      = (i % 2) * 12
        y      = floor(i / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = group[0]
          metrics = group[1]
          period  = 60
          stat    = "Average"
          region  = data.aws_region.current.name
        }
      }
    ]
  })
}

data "aws_region" "current" {}

output "topic_arn" {
  description = "SNS topic of the alarms."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
