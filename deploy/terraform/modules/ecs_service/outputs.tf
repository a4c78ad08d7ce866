output "task_definition_arn" {
  description = "The task definition (the deploy workflow registers new revisions of its family)."
  value       = aws_ecs_task_definition.this.arn
}

output "task_definition_family" {
  description = "Family of the task definition."
  value       = aws_ecs_task_definition.this.family
}

output "service_name" {
  description = "The ECS service, or null for a one-off task definition."
  value       = var.create_service ? aws_ecs_service.this[0].name : null
}

output "task_role_arn" {
  description = "Role the container's code runs as."
  value       = local.task_role_arn
}

output "execution_role_arn" {
  description = "Role ECS pulls images and secrets with."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the containers."
  value       = aws_cloudwatch_log_group.this.name
}
