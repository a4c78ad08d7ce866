variable "name" {
  description = "Prefix of every resource name, e.g. morket-production."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's IPv4 range; split into public, private (app) and data subnets per AZ."
  type        = string
  default     = "10.40.0.0/16"
}

variable "azs" {
  description = "Availability zones, named (a fixed set: a zone AWS adds later never moves subnets)."
  type        = list(string)
  validation {
    condition     = length(var.azs) >= 2 && length(var.azs) <= 4
    error_message = "2 to 4 zones (the ALB and Aurora need at least two)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper, staging) instead of one per AZ (production)."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow logs in CloudWatch Logs."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}
