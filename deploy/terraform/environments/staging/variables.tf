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
