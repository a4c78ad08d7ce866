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
  # deploy/terraform/bootstrap. Bucket and region come from backend.hcl:
  #   terraform init -backend-config=backend.hcl
  # One state per workspace, that is per environment: morket/<workspace>/terraform.tfstate
  # (terraform workspace new staging, then terraform workspace select staging|production).
  backend "s3" {
    workspace_key_prefix = "morket"
    key                  = "terraform.tfstate"
    encrypt              = true
    use_lockfile         = true
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}

# CloudFront's certificate and web ACL live in us-east-1.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
  default_tags {
    tags = local.tags
  }
}
