variable "name" {
  description = "Prefix of the repository names, e.g. morket."
  type        = string
}

variable "repositories" {
  description = "Images pushed by the deploy workflow (api serves api, worker and migrations)."
  type        = set(string)
  default     = ["api", "scraper"]
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images."
  type        = string
}

variable "keep_images" {
  description = "How many tagged images each repository keeps (rollback window)."
  type        = number
  default     = 50
}

resource "aws_ecr_repository" "this" {
  for_each = var.repositories
  name     = "${var.name}/${each.key}"
  # Tags are commit SHAs and never move: what runs is what was scanned and approved.
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each   = aws_ecr_repository.this
  repository = each.value.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "untagged layers after a day"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 1 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "keep the newest tagged images"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.keep_images }
        action       = { type = "expire" }
      },
    ]
  })
}

output "repository_urls" {
  description = "Repository URL by image name."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "repository_arns" {
  description = "Repository ARN by image name."
  value       = { for k, r in aws_ecr_repository.this : k => r.arn }
}
