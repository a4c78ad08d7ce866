variable "environment" {
  description = "staging or production."
  type        = string
  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment is staging or production."
  }
}

variable "image_tag" {
  description = "Commit SHA of the images the task definitions start from (the deploy workflow rolls later ones)."
  type        = string
}

variable "domain" {
  description = "Host name of the site, e.g. app.morket.example (CloudFront alias)."
  type        = string
}

variable "api_origin_domain" {
  description = "Host name of the ALB origin, e.g. origin.app.morket.example (a CNAME to the ALB, covered by alb_certificate_arn)."
  type        = string
}

variable "cloudfront_certificate_arn" {
  description = "ACM certificate in us-east-1 for domain."
  type        = string
}

variable "alb_certificate_arn" {
  description = "ACM certificate in the region for api_origin_domain."
  type        = string
}

variable "github_owner" {
  description = "Owner of the GitHub repository whose deploy workflow may assume the deploy role."
  type        = string
}

variable "github_repo" {
  description = "Name of that repository."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (true in the first environment of an account)."
  type        = bool
  default     = false
}

variable "alarm_emails" {
  description = "Who receives the alarms."
  type        = list(string)
  default     = []
}

variable "az_count" {
  description = "Availability zones."
  type        = number
}

variable "single_nat_gateway" {
  description = "One NAT gateway (staging) or one per AZ."
  type        = bool
}

variable "sizes" {
  description = "Fargate size and task-count range per Morket service (api, worker, scraper)."
  type = map(object({
    cpu    = number
    memory = number
    min    = number
    max    = number
  }))
}

variable "aurora" {
  description = "Aurora PostgreSQL: instance class and read replicas; temporal_cluster gives Temporal its own cluster."
  type = object({
    instance_class   = string
    reader_count     = number
    temporal_cluster = bool
  })
}

variable "redis" {
  description = "ElastiCache node type and replica count."
  type = object({
    node_type = string
    replicas  = number
  })
}

variable "opensearch" {
  description = "OpenSearch data nodes, zones, dedicated masters and volume size."
  type = object({
    instance_type  = string
    instance_count = number
    zone_count     = number
    master_count   = number
    volume_gb      = number
  })
}

variable "clickhouse" {
  description = "ClickHouse nodes (1, or 3+ replicated) and their size."
  type = object({
    node_count     = number
    instance_type  = string
    data_volume_gb = number
  })
}

variable "temporal" {
  description = "Temporal server task count and size."
  type = object({
    server_count = number
    cpu          = number
    memory       = number
  })
}

variable "deletion_protection" {
  description = "Protect the load balancer and the databases from deletion."
  type        = bool
}

variable "provider_rate_limits" {
  description = "PROVIDER_RATE_LIMITS JSON for your provider plans."
  type        = string
  default     = "{}"
}

variable "crm_client_ids" {
  description = "OAuth client id of each CRM app (hubspot, salesforce) for CRM export; a CRM left out stays off."
  type        = map(string)
  default     = {}
}

variable "crm_client_secrets" {
  description = "Client secret of each CRM app of crm_client_ids: first value of the secret <crm>_client_secret."
  type        = map(string)
  default     = {}
  sensitive   = true
}
