variable "name" {
  description = "Domain name (28 characters at most), e.g. morket-production."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the domain."
  type        = string
}

variable "subnet_ids" {
  description = "Data subnets; one per zone used."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect on 443."
  type        = list(string)
}

variable "engine_version" {
  description = "OpenSearch version."
  type        = string
  default     = "OpenSearch_2.17"
}

variable "instance_type" {
  description = "Data node type."
  type        = string
  default     = "r6g.large.search"
}

variable "instance_count" {
  description = "Data nodes (a multiple of the zone count)."
  type        = number
  default     = 1
}

variable "zone_count" {
  description = "Availability zones (1 staging, 3 production with zone awareness)."
  type        = number
  default     = 1
}

variable "dedicated_master_count" {
  description = "Dedicated master nodes (0 or 3)."
  type        = number
  default     = 0
}

variable "volume_size_gb" {
  description = "EBS gp3 volume per data node."
  type        = number
  default     = 100
}

variable "master_user_arn" {
  description = "IAM role mapped to the fine-grained access control admin (the API/worker task role)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for encryption at rest and the log groups."
  type        = string
}

resource "aws_security_group" "this" {
  name        = "${var.name}-opensearch"
  description = "OpenSearch HTTPS from the Morket services"
  vpc_id      = var.vpc_id
  ingress {
    description     = "HTTPS from the services"
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
}

resource "aws_cloudwatch_log_group" "this" {
  for_each          = toset(["INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS"])
  name              = "/opensearch/${var.name}/${lower(each.key)}"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "logs" {
  statement {
    actions   = ["logs:PutLogEvents", "logs:CreateLogStream"]
    resources = [for g in aws_cloudwatch_log_group.this : "${g.arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["es.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "this" {
  policy_name     = "${var.name}-opensearch"
  policy_document = data.aws_iam_policy_document.logs.json
}

resource "aws_opensearch_domain" "this" {
  #checkov:skip=CKV_AWS_318:dedicated_master_count is a variable: 3 in production (asserted by backend/tests/deploy), 0 on the single-node staging domain
  #checkov:skip=CKV2_AWS_59:same variable: dedicated masters in production, none on single-node staging
  domain_name    = var.name
  engine_version = var.engine_version

  cluster_config {
    instance_type            = var.instance_type
    instance_count           = var.instance_count
    zone_awareness_enabled   = var.zone_count > 1
    dedicated_master_enabled = var.dedicated_master_count > 0
    dedicated_master_count   = var.dedicated_master_count > 0 ? var.dedicated_master_count : null
    dedicated_master_type    = var.dedicated_master_count > 0 ? "m6g.large.search" : null
    dynamic "zone_awareness_config" {
      for_each = var.zone_count > 1 ? [var.zone_count] : []
      content {
        availability_zone_count = zone_awareness_config.value
      }
    }
  }

  vpc_options {
    subnet_ids         = slice(var.subnet_ids, 0, var.zone_count)
    security_group_ids = [aws_security_group.this.id]
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.volume_size_gb
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = var.kms_key_arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }

  advanced_security_options {
    enabled                        = true
    internal_user_database_enabled = false
    master_user_options {
      master_user_arn = var.master_user_arn
    }
  }

  log_publishing_options {
    log_type                 = "INDEX_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.this["INDEX_SLOW_LOGS"].arn
    enabled                  = true
  }
  log_publishing_options {
    log_type                 = "SEARCH_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.this["SEARCH_SLOW_LOGS"].arn
    enabled                  = true
  }
  log_publishing_options {
    log_type                 = "ES_APPLICATION_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.this["ES_APPLICATION_LOGS"].arn
    enabled                  = true
  }
  log_publishing_options {
    log_type                 = "AUDIT_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.this["AUDIT_LOGS"].arn
    enabled                  = true
  }

  depends_on = [aws_cloudwatch_log_resource_policy.this]
}

# Requests are signed with the task role (SigV4); fine-grained access control maps it to admin.
resource "aws_opensearch_domain_policy" "this" {
  domain_name = aws_opensearch_domain.this.domain_name
  access_policies = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = var.master_user_arn }
      Action    = "es:ESHttp*"
      Resource  = "${aws_opensearch_domain.this.arn}/*"
    }]
  })
}

output "endpoint" {
  description = "HTTPS endpoint of the domain."
  value       = "https://${aws_opensearch_domain.this.endpoint}"
}

output "domain_name" {
  description = "For CloudWatch metrics."
  value       = aws_opensearch_domain.this.domain_name
}

output "arn" {
  description = "Domain ARN."
  value       = aws_opensearch_domain.this.arn
}
