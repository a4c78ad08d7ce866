variable "name" {
  description = "Bucket name prefix (globally unique), e.g. morket-production-123456789012."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the backup bucket (web assets and logs use SSE-S3: CloudFront and ALB logging need it)."
  type        = string
}

variable "backup_retention_days" {
  description = "Days a ClickHouse or PostgreSQL export is kept in the backup bucket."
  type        = number
  default     = 35
}

variable "force_destroy" {
  description = "Allow destroying non-empty buckets (staging only)."
  type        = bool
  default     = false
}

locals {
  buckets = {
    web     = { kms = false, expire_days = null }
    backups = { kms = true, expire_days = var.backup_retention_days }
    logs    = { kms = false, expire_days = 365 }
  }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV2_AWS_6:public access block is aws_s3_bucket_public_access_block.this, for_each over these buckets (checkov does not link for_each siblings; backend/tests/deploy asserts it)
  #checkov:skip=CKV_AWS_21:versioning is aws_s3_bucket_versioning.this over every bucket (same for_each limit; asserted by backend/tests/deploy)
  #checkov:skip=CKV2_AWS_61:lifecycle is aws_s3_bucket_lifecycle_configuration.this over every bucket (same; asserted)
  #checkov:skip=CKV_AWS_19:encryption is aws_s3_bucket_server_side_encryption_configuration.this over every bucket (same; asserted)
  #checkov:skip=CKV_AWS_18:access logging is aws_s3_bucket_logging.this for web and backups; the logs bucket cannot log to itself
  #checkov:skip=CKV_AWS_144:web is rebuilt from git by the deploy workflow, logs are not worth a second copy; for backups, docs/deploy.md says when to add replication (a second region is a cost decision per installation)
  #checkov:skip=CKV2_AWS_62:nothing consumes bucket events
  #checkov:skip=CKV_AWS_145:web and logs use SSE-S3 (ALB access logs support only SSE-S3; CloudFront reads web through OAC); backups use the KMS key
  for_each      = local.buckets
  bucket        = "${var.name}-${each.key}"
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = aws_s3_bucket.this
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  rule {
    # The logs bucket receives CloudFront standard logs, which still use ACLs.
    object_ownership = each.key == "logs" ? "BucketOwnerPreferred" : "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.buckets[each.key].kms ? "aws:kms" : "AES256"
      kms_master_key_id = local.buckets[each.key].kms ? var.kms_key_arn : null
    }
    bucket_key_enabled = local.buckets[each.key].kms
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    dynamic "expiration" {
      for_each = local.buckets[each.key].expire_days == null ? [] : [local.buckets[each.key].expire_days]
      content {
        days = expiration.value
      }
    }
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each      = { for k, b in aws_s3_bucket.this : k => b if k != "logs" }
  bucket        = each.value.id
  target_bucket = aws_s3_bucket.this["logs"].id
  target_prefix = "s3/${each.key}/"
}

data "aws_elb_service_account" "this" {}

# ALB access logs are written by the region's ELB account.
resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.this["logs"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ElbAccessLogs"
        Effect    = "Allow"
        Principal = { AWS = data.aws_elb_service_account.this.arn }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.this["logs"].arn}/alb/*"
      },
      {
        Sid       = "TlsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this["logs"].arn, "${aws_s3_bucket.this["logs"].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

output "bucket_names" {
  description = "Bucket name by purpose: web, backups, logs."
  value       = { for k, b in aws_s3_bucket.this : k => b.id }
}

output "bucket_arns" {
  description = "Bucket ARN by purpose."
  value       = { for k, b in aws_s3_bucket.this : k => b.arn }
}

output "web_bucket_regional_domain_name" {
  description = "Origin domain of the web bucket for CloudFront."
  value       = aws_s3_bucket.this["web"].bucket_regional_domain_name
}
