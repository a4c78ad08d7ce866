output "client_security_group_ids" {
  description = "Security groups of every Morket task (the data stores accept them)."
  value       = [aws_security_group.api.id, aws_security_group.worker.id, aws_security_group.scraper.id]
}

output "temporal_client_security_group_ids" {
  description = "Security groups of the Temporal clients (API and worker)."
  value       = [aws_security_group.api.id, aws_security_group.worker.id]
}

output "morket_task_role_arn" {
  description = "Role of the morket package's code in every task (OpenSearch's fine-grained access admin)."
  value       = aws_iam_role.morket.arn
}

output "service_names" {
  description = "ECS services by component (the deploy workflow updates them)."
  value       = { api = module.api.service_name, worker = module.worker.service_name, scraper = module.scraper.service_name }
}

output "task_families" {
  description = "Task definition families by component, migrations included."
  value = {
    api     = module.api.task_definition_family
    worker  = module.worker.task_definition_family
    scraper = module.scraper.task_definition_family
    migrate = module.migrate.task_definition_family
  }
}

output "pass_role_arns" {
  description = "Task and execution roles the deploy workflow passes to ECS."
  value = flatten([for m in [module.api, module.worker, module.migrate, module.scraper] :
  [m.task_role_arn, m.execution_role_arn]])
}

output "migrate_security_group_id" {
  description = "Security group of the one-off migration task."
  value       = aws_security_group.worker.id
}

output "log_group_names" {
  description = "Log groups by component."
  value = {
    api     = module.api.log_group_name
    worker  = module.worker.log_group_name
    scraper = module.scraper.log_group_name
    migrate = module.migrate.log_group_name
  }
}
