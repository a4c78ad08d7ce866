output "site_url" {
  description = "The product's URL."
  value       = "https://${var.domain}"
}

output "cloudfront_domain" {
  description = "Point the site's DNS (CNAME/alias) here."
  value       = module.cdn.domain_name
}

output "alb_dns_name" {
  description = "Point api_origin_domain's DNS here."
  value       = module.alb.dns_name
}

output "deploy" {
  description = "What the deploy workflow needs (set as variables of the GitHub environment)."
  value = {
    AWS_DEPLOY_ROLE_ARN        = module.deploy_role.role_arn
    AWS_REGION                 = data.aws_region.current.name
    ECR_API_REPOSITORY         = module.ecr.repository_urls["api"]
    ECR_SCRAPER_REPOSITORY     = module.ecr.repository_urls["scraper"]
    ECS_CLUSTER                = module.cluster.cluster_name
    ECS_SERVICE_API            = module.app.service_names["api"]
    ECS_SERVICE_WORKER         = module.app.service_names["worker"]
    ECS_SERVICE_SCRAPER        = module.app.service_names["scraper"]
    ECS_TASK_FAMILY_API        = module.app.task_families["api"]
    ECS_TASK_FAMILY_WORKER     = module.app.task_families["worker"]
    ECS_TASK_FAMILY_SCRAPER    = module.app.task_families["scraper"]
    ECS_TASK_FAMILY_MIGRATE    = module.app.task_families["migrate"]
    MIGRATE_SUBNETS            = join(",", module.vpc.private_subnet_ids)
    MIGRATE_SECURITY_GROUP     = module.app.migrate_security_group_id
    WEB_BUCKET                 = module.s3.bucket_names["web"]
    CLOUDFRONT_DISTRIBUTION_ID = module.cdn.distribution_id
  }
}

output "temporal_schema_task_family" {
  description = "Run once before the first deploy and after a Temporal upgrade."
  value       = module.temporal.schema_task_family
}

output "aurora_endpoints" {
  description = "Writer and reader endpoints of the application's database."
  value       = { writer = module.aurora.endpoint, reader = module.aurora.reader_endpoint }
}

output "backup_bucket" {
  description = "Bucket of ClickHouse backups and PostgreSQL exports."
  value       = module.s3.bucket_names["backups"]
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.monitoring.topic_arn
}
