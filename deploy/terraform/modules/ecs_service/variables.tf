variable "name" {
  description = "Service and container name, e.g. morket-production-api."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster the service runs in."
  type        = string
}

variable "cluster_name" {
  description = "Name of that cluster (for autoscaling resource ids)."
  type        = string
}

variable "image" {
  description = "Image URI with an immutable tag (a commit SHA)."
  type        = string
}

variable "command" {
  description = "Container command (the image's ENTRYPOINT is kept), e.g. [\"worker\"]."
  type        = list(string)
  default     = null
}

variable "python_package" {
  description = "The Python package the image runs (morket, morket_scraper), or null for third-party images. Its settings must all be in environment or secrets (checked by backend/tests/deploy)."
  type        = string
  default     = null
}

variable "cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU)."
  type        = number
}

variable "memory" {
  description = "Fargate task memory in MiB."
  type        = number
}

variable "environment" {
  description = "Plain environment variables of the container."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Environment variables read from Secrets Manager: name => secret ARN (or ARN:json-key::); a null ARN (an optional secret that does not exist) leaves the variable unset."
  type        = map(string)
  default     = {}
}

variable "secret_arns" {
  description = "Secrets Manager ARNs the execution role may read (the secrets map may point at JSON keys of them)."
  type        = list(string)
  default     = []
}

variable "container_port" {
  description = "Port the container listens on, or null for a process without one (the worker)."
  type        = number
  default     = null
}

variable "health_check_command" {
  description = "Container health check, e.g. [\"CMD\", \"python\", \"/app/healthcheck.py\", \"api\"]; null keeps the image's."
  type        = list(string)
  default     = null
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the tasks."
  type        = list(string)
}

variable "create_service" {
  description = "false: only a task definition, run as a one-off task (migrations)."
  type        = bool
  default     = true
}

variable "desired_count" {
  description = "Initial number of tasks (autoscaling moves it between min_count and max_count)."
  type        = number
  default     = 1
}

variable "min_count" {
  description = "Fewest tasks autoscaling keeps."
  type        = number
  default     = 1
}

variable "max_count" {
  description = "Most tasks autoscaling starts."
  type        = number
  default     = 1
}

variable "cpu_target_percent" {
  description = "Average CPU the target-tracking policy holds the service at."
  type        = number
  default     = 60
}

variable "requests_per_target" {
  description = "ALB requests per task per minute to hold (API only); null: no request-count policy."
  type        = number
  default     = null
}

variable "alb_resource_label" {
  description = "app/<alb>/<id>/targetgroup/<tg>/<id>, for the request-count policy."
  type        = string
  default     = null
}

variable "target_group_arn" {
  description = "ALB target group of the service, or null."
  type        = string
  default     = null
}

variable "service_discovery_namespace_id" {
  description = "Cloud Map namespace the service registers in when discovery_name is set."
  type        = string
  default     = null
}

variable "discovery_name" {
  description = "Short DNS name in the namespace, e.g. temporal; null: not registered."
  type        = string
  default     = null
}

variable "use_spot" {
  description = "Run on FARGATE_SPOT with one on-demand base task (for interruptible work: worker, scraper)."
  type        = bool
  default     = false
}

variable "readonly_root_filesystem" {
  description = "Read-only root filesystem with a writable /tmp volume."
  type        = bool
  default     = true
}

variable "stop_timeout" {
  description = "Seconds between SIGTERM and SIGKILL (workers finish or heartbeat their activity)."
  type        = number
  default     = 60
}

variable "task_role_policy_json" {
  description = "IAM policy of the task role (what the code may call), or null for none."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the container log group."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key of the log group."
  type        = string
}

variable "user" {
  description = "uid:gid the container runs as (our images: 10001); null keeps the image's user."
  type        = string
  default     = "10001:10001"
}

variable "create_task_role" {
  description = "Create a task role for this service; false: use task_role_arn. (Counts must be known at plan time, so this is not derived from task_role_arn.)"
  type        = bool
  default     = true
}

variable "task_role_arn" {
  description = "The existing task role when create_task_role is false (shared by services of the same code)."
  type        = string
  default     = null
}

variable "load_balanced" {
  description = "Register the tasks in target_group_arn and add the request-count scaling policy."
  type        = bool
  default     = false
}
