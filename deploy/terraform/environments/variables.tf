variable "environment" {
  description = "staging or production: the profile in main.tf; must be the selected workspace."
  type        = string
  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment is staging or production."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
}

variable "image_tag" {
  description = "Commit SHA of the images the task definitions start from."
  type        = string
}

variable "domain" {
  description = "Host name of the site."
  type        = string
}

variable "api_origin_domain" {
  description = "Host name of the ALB origin (CNAME to the ALB)."
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

variable "alarm_emails" {
  description = "Who receives the alarms."
  type        = list(string)
  default     = []
}

variable "provider_rate_limits" {
  description = "PROVIDER_RATE_LIMITS JSON for your provider plans."
  type        = string
  default     = "{}"
}

variable "crm_client_ids" {
  description = "OAuth client id of each CRM app to enable for CRM export (hubspot, salesforce; docs/crm.md). A CRM left out stays off."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for crm in keys(var.crm_client_ids) : contains(["hubspot", "salesforce"], crm)])
    error_message = "CRM apps are hubspot and salesforce."
  }
}

variable "crm_client_secrets" {
  description = "The client secret of each app of crm_client_ids, stored in Secrets Manager as <crm>_client_secret. Give it as TF_VAR_crm_client_secrets='{hubspot=\"...\"}', not in a file."
  type        = map(string)
  default     = {}
  sensitive   = true
  validation {
    condition     = alltrue([for crm in keys(var.crm_client_secrets) : contains(["hubspot", "salesforce"], crm)])
    error_message = "CRM apps are hubspot and salesforce."
  }
}
