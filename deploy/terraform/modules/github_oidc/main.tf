variable "name" {
  description = "Role name, e.g. morket-production-deploy."
  type        = string
}

variable "github_owner" {
  description = "Owner (user or organisation) of the GitHub repository allowed to assume the role."
  type        = string
}

variable "github_repo" {
  description = "Name of that repository."
  type        = string
}

variable "environment" {
  description = "GitHub environment whose jobs may assume it (production needs a reviewer's approval there)."
  type        = string
}

variable "create_provider" {
  description = "Create the account's GitHub OIDC provider (once per account: true in one environment only)."
  type        = bool
  default     = false
}

variable "ecr_repository_arns" {
  description = "Repositories the workflow pushes to."
  type        = list(string)
}

variable "ecs_cluster_arn" {
  description = "Cluster whose services the workflow updates and where it runs migrations."
  type        = string
}

variable "pass_role_arns" {
  description = "Task and execution roles the workflow hands to ECS when it registers task definitions."
  type        = list(string)
}

variable "web_bucket_arn" {
  description = "Bucket the workflow syncs web/dist to."
  type        = string
}

variable "distribution_arn" {
  description = "CloudFront distribution the workflow invalidates."
  type        = string
}

data "aws_caller_identity" "current" {}

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_provider ? 1 : 0
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

locals {
  provider_arn = var.create_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:aws:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/token.actions.githubusercontent.com"
}

# Short-lived credentials for one repository's jobs in one GitHub environment; no access keys exist.
resource "aws_iam_role" "deploy" {
  name                 = var.name
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
          "token.actions.githubusercontent.com:sub" = "repo:${var.github_owner}/${var.github_repo}:environment:${var.environment}"
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "deploy" {
  name = "deploy"
  role = aws_iam_role.deploy.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      # GetAuthorizationToken has no resource-level permissions.
      { Effect = "Allow", Action = ["ecr:GetAuthorizationToken"], Resource = "*" },
      {
        Effect = "Allow"
        Action = ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:DescribeImages"]
        Resource = var.ecr_repository_arns
      },
      # Task-definition registration and lookups have no resource-level permissions either.
      { Effect = "Allow", Action = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"], Resource = "*" },
      {
        Effect    = "Allow"
        Action    = ["ecs:UpdateService", "ecs:DescribeServices", "ecs:RunTask", "ecs:DescribeTasks"]
        Resource  = "*"
        Condition = { ArnEquals = { "ecs:cluster" = var.ecs_cluster_arn } }
      },
      { Effect = "Allow", Action = ["iam:PassRole"], Resource = var.pass_role_arns },
      { Effect = "Allow", Action = ["s3:ListBucket"], Resource = var.web_bucket_arn },
      { Effect = "Allow", Action = ["s3:PutObject", "s3:DeleteObject"], Resource = "${var.web_bucket_arn}/*" },
      { Effect = "Allow", Action = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"], Resource = var.distribution_arn },
    ]
  })
}

output "role_arn" {
  description = "Set it as the AWS_DEPLOY_ROLE_ARN variable of the GitHub environment."
  value       = aws_iam_role.deploy.arn
}
