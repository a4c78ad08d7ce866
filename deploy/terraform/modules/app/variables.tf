variable "name" {
  description = "Prefix, e.g. morket-production (also the ECS cluster's name)."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster."
  type        = string
}

variable "namespace_id" {
  description = "Cloud Map namespace (the scraper registers as scraper.<namespace>)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's range (the ALB's addresses are in it)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "alb_security_group_id" {
  description = "Security group of the load balancer (the only way in to the API)."
  type        = string
}

variable "alb_target_group_arn" {
  description = "Target group of the API."
  type        = string
}

variable "alb_resource_label" {
  description = "For the API's request-count scaling policy."
  type        = string
}

variable "api_image" {
  description = "ECR image of api, worker and migrations, tagged with a commit SHA."
  type        = string
}

variable "scraper_image" {
  description = "ECR image of the scraper, tagged with a commit SHA."
  type        = string
}

variable "sizes" {
  description = "Per service: Fargate cpu units, memory MiB, min and max task count."
  type = map(object({
    cpu    = number
    memory = number
    min    = number
    max    = number
  }))
  validation {
    condition     = alltrue([for k in ["api", "worker", "scraper"] : contains(keys(var.sizes), k)])
    error_message = "sizes needs api, worker and scraper."
  }
}

variable "api_requests_per_task_per_minute" {
  description = "ALB requests per API task per minute the autoscaler holds."
  type        = number
  default     = 3000
}

variable "public_url" {
  description = "The site's URL, e.g. https://app.morket.example (CORS origin, links in e-mails)."
  type        = string
}

variable "temporal_address" {
  description = "Temporal frontend host:port."
  type        = string
}

variable "opensearch_endpoint" {
  description = "OpenSearch HTTPS endpoint."
  type        = string
}

variable "opensearch_domain_arn" {
  description = "OpenSearch domain ARN (the task roles may call it)."
  type        = string
}

variable "trusted_proxy_cidrs" {
  description = "Ranges whose X-Forwarded-For is believed besides the VPC (CloudFront's origin-facing ranges)."
  type        = list(string)
}

variable "secret_arns" {
  description = "Secrets Manager ARNs: database_url, redis_url, clickhouse_url, service_api_key, jwt_secret, encryption (JSON: master_key, key_version, previous_keys)."
  type        = map(string)
  validation {
    condition     = alltrue([for k in ["database_url", "redis_url", "clickhouse_url", "service_api_key", "jwt_secret", "encryption"] : contains(keys(var.secret_arns), k)])
    error_message = "secret_arns needs database_url, redis_url, clickhouse_url, service_api_key, jwt_secret and encryption."
  }
}

variable "provider_rate_limits" {
  description = "PROVIDER_RATE_LIMITS as JSON (per-key limits of your provider plans), {} for the documented ones."
  type        = string
  default     = "{}"
}

variable "enrichment" {
  description = "Worker tuning: ENRICHMENT_* settings."
  type = object({
    chunk_size         = number
    parallel_chunks    = number
    chunks_per_run     = number
    record_concurrency = number
    write_batch        = number
  })
  default = {
    chunk_size         = 250
    parallel_chunks    = 4
    chunks_per_run     = 200
    record_concurrency = 16
    write_batch        = 50
  }
}

variable "log_level" {
  description = "LOG_LEVEL of every Morket process."
  type        = string
  default     = "INFO"
}

variable "log_retention_days" {
  description = "Retention of the services' log groups."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key of logs and secrets."
  type        = string
}

variable "crm_client_ids" {
  description = "OAuth client id of each CRM app (hubspot, salesforce); its secret is the secret <crm>_client_secret of secret_arns."
  type        = map(string)
  default     = {}
}
