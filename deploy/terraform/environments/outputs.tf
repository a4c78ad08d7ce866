output "site_url" {
  description = "The product's URL."
  value       = module.morket.site_url
}

output "cloudfront_domain" {
  description = "Point the site's DNS here."
  value       = module.morket.cloudfront_domain
}

output "alb_dns_name" {
  description = "Point api_origin_domain's DNS here."
  value       = module.morket.alb_dns_name
}

output "deploy" {
  description = "Variables of the GitHub environment used by the deploy workflow."
  value       = module.morket.deploy
}

output "temporal_schema_task_family" {
  description = "One-off task that creates or upgrades Temporal's schema."
  value       = module.morket.temporal_schema_task_family
}

output "aurora_endpoints" {
  description = "Writer and reader endpoints."
  value       = module.morket.aurora_endpoints
}

output "backup_bucket" {
  description = "Backups bucket."
  value       = module.morket.backup_bucket
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.morket.alarm_topic_arn
}
