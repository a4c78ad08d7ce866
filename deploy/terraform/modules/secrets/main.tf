variable "name" {
  description = "Path prefix of the secrets, e.g. morket/production."
  type        = string
}

variable "initial_values" {
  description = "Secret name => first value. Later values are set by rotation (docs/deploy.md), never by Terraform."
  type        = map(string)
  sensitive   = true
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secrets."
  type        = string
}

variable "recovery_window_days" {
  description = "Days a deleted secret can be restored."
  type        = number
  default     = 30
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:rotation is the procedure of docs/deploy.md: the master key needs `morket credentials rotate-master-key` to re-encrypt rows, which a rotation Lambda cannot run safely
  # Keys are not sensitive; only the values are.
  for_each                = nonsensitive(toset(keys(var.initial_values)))
  name                    = "${var.name}/${each.key}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "initial" {
  for_each      = aws_secretsmanager_secret.this
  secret_id     = each.value.id
  secret_string = var.initial_values[each.key]
  lifecycle {
    # Rotation writes new versions; Terraform must not put the first value back.
    ignore_changes = [secret_string]
  }
}

output "arns" {
  description = "Secret ARN by name."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
}
