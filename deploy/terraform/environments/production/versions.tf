terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Remote state in S3 with S3-native locking (use_lockfile); the bucket is made once by
  # deploy/terraform/bootstrap. Bucket, region and key come from backend.hcl:
  #   terraform init -backend-config=backend.hcl
  backend "s3" {
    key          = "morket/production/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { Project = "morket", Environment = "production", ManagedBy = "terraform" }
  }
}

# CloudFront's certificate and web ACL live in us-east-1.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
  default_tags {
    tags = { Project = "morket", Environment = "production", ManagedBy = "terraform" }
  }
}
